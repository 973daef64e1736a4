"""``chainrule train``: accuracy of the default and linear models, checkpoints that resume identically, plots,
and argparse-style errors. The command runs as a subprocess where its exit status and streams matter, and
in process (``cli.main``) elsewhere to save interpreter start-ups."""

import os
import re
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule import cli

SRC = os.path.dirname(os.path.dirname(cr.__file__))


def run_cli(*args, cwd):
    """``python -m chainrule train ARGS`` with this checkout's chainrule on the path."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "chainrule", "train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def accuracy(stdout: str) -> float:
    match = re.fullmatch(r"test accuracy: ([\d.]+)% \((\d+)/(\d+)\)", stdout.strip().splitlines()[-1])
    assert match, stdout
    assert int(match[2]) / int(match[3]) == pytest.approx(float(match[1]) / 100, abs=5e-5)
    return float(match[1])


def test_default_mlp_on_digits_reaches_97_percent(tmp_path):
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("chainrule train: mlp on digits (1437 train / 360 test), adam lr=0.001, batch 32")
    assert accuracy(result.stdout) >= 97.0
    assert "20/20" in result.stderr and re.search(r"loss=[\d.]+ acc=[\d.]+% test=[\d.]+%", result.stderr)


def test_save_and_plot_from_a_short_run(tmp_path):
    result = run_cli("--model", "softmax", "--epochs", "1", "--save", "run.ckpt", "--plot", "curves.png",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:3] == ["saved checkpoint: run.ckpt (epoch 1)", "saved plot: curves.png"]
    assert accuracy(result.stdout) > 80.0
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    checkpoint = cr.load(tmp_path / "run.ckpt")
    assert checkpoint["epoch"] == 1 and len(checkpoint["history"]["test_acc"]) == 1
    assert checkpoint["config"]["model"] == "softmax" and set(checkpoint["model"]) == {"weight", "bias"}
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "run.ckpt"]


@pytest.mark.parametrize("model", ["linear-svm", "softmax"])
def test_linear_classifiers_reach_94_percent(capsys, model):
    assert cli.main(["train", "--model", model]) == 0
    assert accuracy(capsys.readouterr().out) >= 94.0


def test_resumed_run_continues_identically(tmp_path, capsys):
    straight, first, resumed = (str(tmp_path / name) for name in ("straight", "first", "resumed"))
    assert cli.main(["train", "--model", "softmax", "--epochs", "3", "--save", straight]) == 0
    assert cli.main(["train", "--model", "softmax", "--epochs", "2", "--save", first]) == 0
    assert cli.main(["train", "--resume", first, "--epochs", "3", "--save", resumed]) == 0
    out = capsys.readouterr().out
    assert "softmax on digits" in out.splitlines()[-3] and "epochs 3..3" in out.splitlines()[-3]
    a, b = cr.load(straight), cr.load(resumed)
    for key in a["model"]:
        assert cr.equal(a["model"][key], b["model"][key])
    assert a["history"] == b["history"] and a["epoch"] == b["epoch"] == 3
    assert a["scheduler"] == b["scheduler"] and a["generator"] == b["generator"]


def test_cnn_and_spiral_run(capsys):
    assert cli.main(["train", "--model", "cnn", "--epochs", "1"]) == 0
    assert accuracy(capsys.readouterr().out) > 50.0
    assert cli.main(["train", "--dataset", "spiral", "--optimizer", "adamw", "--epochs", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "mlp on spiral (480 train / 120 test), adamw lr=0.001" in out and accuracy(out) > 33.0


def test_bad_option_exits_2_with_usage_and_no_traceback(tmp_path):
    result = run_cli("--model", "resnet", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: chainrule train")
    assert "argument --model: invalid choice: 'resnet'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
    (["--batch-size", "many"], "argument --batch-size: invalid int value: 'many'"),
    (["--lr", "-0.1"], "argument --lr: must be a positive number, got -0.1"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["--model", "cnn", "--dataset", "spiral"], "--model cnn needs image input"),
])
def test_bad_options(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", *args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("usage: chainrule train") and message in err


def test_resume_conflicts_and_unreadable_checkpoints(tmp_path, capsys):
    path = str(tmp_path / "run.ckpt")
    assert cli.main(["train", "--model", "softmax", "--epochs", "1", "--save", path]) == 0
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--resume", path, "--model", "mlp"])
    assert exit_info.value.code == 2
    assert "--model mlp conflicts with the checkpoint" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    cr.save({"weights": cr.zeros(2)}, tmp_path / "other.ckpt")
    for name, message in [("notes.txt", "does not start with the chainrule magic bytes"),
                          ("other.ckpt", "not one written by chainrule train --save"),
                          ("missing.ckpt", "No such file or directory")]:
        assert cli.main(["train", "--resume", str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("chainrule train: error: cannot resume from") and message in err
        assert err.count("\n") == 1


@pytest.mark.parametrize("module, args, extra", [
    ("tqdm", [], "train"),
    ("sklearn.datasets", [], "train"),
    ("matplotlib", ["--dataset", "spiral", "--plot", "x.png"], "plot"),
])
def test_missing_extra_names_the_pip_install(monkeypatch, capsys, module, args, extra):
    monkeypatch.setitem(sys.modules, module, None)
    assert cli.main(["train", *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("chainrule train: error:") and f"pip install 'chainrule[{extra}]'" in err


def test_moons_is_offered_and_learned(capsys):
    assert cli.main(["train", "--dataset", "moons", "--epochs", "15"]) == 0
    out = capsys.readouterr().out
    assert "mlp on moons (480 train / 120 test)" in out and "epochs 1..15" in out and accuracy(out) >= 90.0


@pytest.mark.parametrize("epochs, message", [
    (["--epochs", "1"], "--epochs 1 leaves nothing to train"),
    ([], "the run asked for 2 epochs, so it has nothing to train"),
])
def test_resume_to_an_epoch_already_reached_exits_2_and_says_so(tmp_path, capsys, epochs, message):
    path = str(tmp_path / "run.ckpt")
    assert cli.main(["train", "--model", "softmax", "--epochs", "2", "--save", path]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "--resume", path, *epochs])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == ""
    assert f"the checkpoint {path} is already at epoch 2, so {message}" in err and "pass more than 2" in err


@pytest.mark.parametrize("args, message", [
    (["--save", "missing/run.ckpt"], "--save missing/run.ckpt: the directory {tmp}/missing does not exist"),
    (["--save", "."], "--save .: it is a directory; give a file name"),
    (["--plot", "missing/curves.png"], "--plot missing/curves.png: the directory {tmp}/missing does not exist"),
    (["--plot", "curves.txt"], "--plot curves.txt: matplotlib cannot write .txt files; use one of"),
])
def test_output_paths_are_checked_before_the_first_epoch(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("chainrule.cli.train._load_data", lambda *_: pytest.fail("trained before checking"))
    assert cli.main(["train", *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"chainrule train: error: {message.format(tmp=tmp_path)}")


def test_plot_without_extension_reports_the_png_it_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--dataset", "moons", "--epochs", "1", "--plot", "curves"]) == 0
    assert "saved plot: curves.png" in capsys.readouterr().out
    assert os.listdir(tmp_path) == ["curves.png"]


@pytest.mark.parametrize("model", ["mlp", "linear-svm"])
def test_compiled_training_reaches_the_eager_accuracy(capsys, model):
    args = ["train", "--model", model, "--epochs", "3"]
    assert cli.main(args) == 0
    eager = accuracy(capsys.readouterr().out)
    assert cli.main(args + ["--compile"]) == 0
    assert accuracy(capsys.readouterr().out) == eager


def test_compile_refuses_several_processes(capsys):
    assert cli.main(["train", "--compile", "--nproc", "2"]) == 1
    assert "--compile runs in one process" in capsys.readouterr().err
