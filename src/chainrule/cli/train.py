"""``chainrule train``: train a classifier on a small data set, with a progress bar, checkpoints and curves.

The lecture's models, from the linear classifiers (a multiclass SVM trained with the hinge loss, softmax
regression) to an MLP and a small conv net, on scikit-learn's bundled handwritten digits or a synthetic
spiral or two moons. Gradients come from chainrule's reverse mode; nothing is derived by hand.

Example::

    $ chainrule train                                  # MLP on digits, ~98% test accuracy
    $ chainrule train --model linear-svm --save svm.ckpt --plot svm.png
    $ chainrule train --resume svm.ckpt --epochs 40    # continue the same run to epoch 40
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

import chainrule as cr

from ..distributed.cli import DataParallelRun, relaunch

MODELS = ("linear-svm", "softmax", "mlp", "cnn")
DATASETS = ("digits", "spiral", "moons")
OPTIMIZERS = ("sgd", "adam", "adamw")
# Per model: the optimizer and epochs used when not given (tuned on digits; see docs/training.md).
MODEL_DEFAULTS = {
    "linear-svm": dict(optimizer="sgd", epochs=20),
    "softmax": dict(optimizer="sgd", epochs=20),
    "mlp": dict(optimizer="adam", epochs=20),
    "cnn": dict(optimizer="sgd", epochs=15),
}
# The toy sets have a third as many samples as digits, so they take more (cheaper) epochs; the spiral's
# boundary is the harder one.
TOY_EPOCHS = {"spiral": 60, "moons": 40}
BATCH_SIZE = 32
SGD_LR = 0.05
ADAM_LR = {"linear-svm": 1e-2, "softmax": 1e-2, "mlp": 1e-3, "cnn": 3e-3}
# The learning rate decays by this factor every epoch, which steadies the final accuracy. A per-epoch decay
# (rather than a schedule fitted to --epochs) means a run resumed to a later epoch continues exactly as an
# uninterrupted run to that epoch would have.
LR_DECAY = {"digits": 0.85, "spiral": 0.95, "moons": 0.95}
# NOTE: the multiclass SVM's objective is hinge loss plus an L2 penalty; SGD and Adam add it to the gradient.
SVM_WEIGHT_DECAY = 1e-3
# The options a resumed run takes from its checkpoint (giving a different value is an error).
RUN_OPTIONS = ("model", "dataset", "optimizer", "lr", "batch_size", "seed")
CHECKPOINT_KEYS = ("config", "epoch", "model", "optimizer", "scheduler", "generator", "history")


class TrainError(Exception):
    """A problem to report as one line (a missing extra, an unreadable checkpoint), not as a traceback."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a classifier on digits, a spiral or two moons and report its test accuracy",
        description="Train a classifier with chainrule and print its test accuracy. Options left out take "
                    "per-model defaults tuned on digits; with --resume they come from the checkpoint.")
    parser.add_argument("--model", choices=MODELS, help="the classifier (default: mlp)")
    parser.add_argument("--dataset", choices=DATASETS, help="the data set (default: digits)")
    parser.add_argument("--epochs", type=_positive_int,
                        help="train until this epoch, counting a resumed run's epochs (default: per model on "
                             f"digits, {TOY_EPOCHS['spiral']} on spiral, {TOY_EPOCHS['moons']} on moons)")
    parser.add_argument("--batch-size", type=_positive_int, help=f"samples per step (default: {BATCH_SIZE})")
    parser.add_argument("--optimizer", choices=OPTIMIZERS,
                        help="sgd (momentum 0.9), adam or adamw (default: adam for mlp, else sgd)")
    parser.add_argument("--lr", type=_positive_float,
                        help=f"initial learning rate (default: {SGD_LR} for sgd; for adam(w) 1e-2 for the linear "
                             "models, 1e-3 for mlp, 3e-3 for cnn)")
    parser.add_argument("--seed", type=int, help="seeds the initial weights and the shuffling (default: 0)")
    parser.add_argument("--save", metavar="PATH", help="write a checkpoint here after every epoch")
    parser.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    parser.add_argument("--plot", metavar="PATH.png", help="save loss and accuracy curves (needs matplotlib)")
    parser.add_argument("--nproc", type=_positive_int, default=1,
                        help="train data-parallel on this many MPI ranks, the batch split over them (needs "
                             "chainrule[distributed]; default: 1)")
    parser.set_defaults(func=run, parser=parser)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def run(args) -> int:
    """Run ``chainrule train``; returns the exit status."""
    try:
        if args.nproc > 1:
            _require("mpi4py", "--nproc", "distributed")
        status = relaunch(args.parser, args, args.nproc)
        if status is not None:
            return status
        parallel = DataParallelRun(args.nproc)
        with _one_blas_thread(), parallel.only_main_speaks():
            return _train(args, parallel)
    except (TrainError, OSError) as error:
        print(f"chainrule train: error: {error}", file=sys.stderr)
        return 1


def _one_blas_thread():
    """Limit BLAS to one thread while training, when threadpoolctl (a scikit-learn dependency) is installed.

    NOTE: these networks multiply small matrices (batch 32 x 256), where BLAS threads cost more in hand-offs
    than they save, and on a busy machine their spinning starves the Python thread: the default run took
    5-7 s with one thread and 35-48 s with two on two loaded cores.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _require(module: str, purpose: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TrainError(f"{purpose} needs {module.split('.')[0]}: pip install 'chainrule[{extra}]'") from None


def _train(args, parallel) -> int:
    checkpoint = _load_checkpoint(cr, args.resume) if args.resume else None
    config = _resolve_config(args, checkpoint)
    tqdm = _require("tqdm", "the progress bar", "train").tqdm
    if config["dataset"] == "digits":
        _require("sklearn.datasets", "the digits data set", "train")
    if args.plot:
        _require("matplotlib", "--plot", "plot")
    plot_path = _check_outputs(args)

    data = _load_data(cr, config)
    n_classes = int(data.y_train.numpy().max()) + 1
    cr.manual_seed(config["seed"])
    model = build_model(cr, config["model"], data.x_train.shape[1:], n_classes)
    optimizer = build_optimizer(cr, config, model.parameters())
    loss_fn = cr.nn.MultiMarginLoss() if config["model"] == "linear-svm" else cr.nn.CrossEntropyLoss()
    generator = cr.Generator().manual_seed(config["seed"])
    loader = parallel.loader(cr, cr.utils.data.TensorDataset(data.x_train, data.y_train), config["batch_size"],
                             generator, config["seed"])
    scheduler = cr.optim.lr_scheduler.ExponentialLR(optimizer, gamma=LR_DECAY[config["dataset"]])
    history = {"loss": [], "train_acc": [], "test_acc": []}
    start = 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        generator.set_state(checkpoint["generator"])
        history = checkpoint["history"]
        start = checkpoint["epoch"]
    train_model = parallel.wrap(model)

    n_train, n_test = len(data.y_train), len(data.y_test)
    print(f"chainrule train: {config['model']} on {config['dataset']} ({n_train} train / {n_test} test), "
          f"{config['optimizer']} lr={config['lr']:g}, batch {config['batch_size']}, epochs {start + 1}.."
          f"{config['epochs']}, seed {config['seed']}", flush=True)
    bar = tqdm(range(start, config["epochs"]), total=config["epochs"], initial=start, unit="epoch",
               desc="train", file=sys.stderr, dynamic_ncols=True)
    for epoch in bar:
        parallel.set_epoch(epoch)
        loss, train_acc = parallel.sum(*_train_epoch(cr, train_model, loader, loss_fn, optimizer, n_train))
        scheduler.step()
        test_correct = _count_correct(cr, model, data.x_test, data.y_test)
        history["loss"].append(loss)
        history["train_acc"].append(train_acc)
        history["test_acc"].append(test_correct / n_test)
        bar.set_postfix_str(f"loss={loss:.4f} acc={100 * train_acc:.1f}% test={100 * test_correct / n_test:.1f}%")
        if args.save and parallel.is_main:
            cr.save({"config": config, "epoch": epoch + 1, "model": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                     "generator": generator.get_state(), "history": history}, args.save)
    bar.close()

    test_correct = _count_correct(cr, model, data.x_test, data.y_test)
    if args.save and start < config["epochs"]:
        print(f"saved checkpoint: {args.save} (epoch {config['epochs']})")
    if plot_path and parallel.is_main:
        plot_history(history, plot_path, f"{config['model']} on {config['dataset']}")
        print(f"saved plot: {plot_path}")
    print(f"test accuracy: {100 * test_correct / n_test:.2f}% ({test_correct}/{n_test})")
    return 0


def _load_checkpoint(cr, path: str) -> dict:
    try:
        checkpoint = cr.load(path)
    except (OSError, RuntimeError) as error:
        raise TrainError(f"cannot resume from {path}: {error}") from None
    if not isinstance(checkpoint, dict) or any(key not in checkpoint for key in CHECKPOINT_KEYS):
        raise TrainError(f"cannot resume from {path}: it is a chainrule checkpoint but not one written by "
                         "chainrule train --save")
    return checkpoint


def _resolve_config(args, checkpoint: dict | None) -> dict:
    """The run's settings: the options given, else the checkpoint's (when resuming), else the defaults."""
    parser = args.parser
    given = {name: getattr(args, name) for name in RUN_OPTIONS}
    if checkpoint is not None:
        saved = checkpoint["config"]
        for name, value in given.items():
            if value is not None and value != saved[name]:
                flag = "--" + name.replace("_", "-")
                parser.error(f"{flag} {value} conflicts with the checkpoint {args.resume}, which was trained "
                             f"with {flag} {saved[name]}; leave it out to continue that run")
        epochs = args.epochs or saved["epochs"]
        if epochs <= checkpoint["epoch"]:
            done = checkpoint["epoch"]
            asked = f"--epochs {epochs} leaves" if args.epochs else f"the run asked for {epochs} epochs, so it has"
            parser.error(f"the checkpoint {args.resume} is already at epoch {done}, so {asked} nothing to train; "
                         f"--epochs is the epoch to train until: pass more than {done} to continue that run")
        return dict(saved, epochs=epochs)
    model = given["model"] or "mlp"
    dataset = given["dataset"] or "digits"
    if model == "cnn" and dataset != "digits":
        parser.error(f"--model cnn needs image input: use --dataset digits (got --dataset {dataset})")
    defaults = MODEL_DEFAULTS[model]
    optimizer = given["optimizer"] or defaults["optimizer"]
    lr = given["lr"] or (SGD_LR if optimizer == "sgd" else ADAM_LR[model])
    return {"model": model, "dataset": dataset, "optimizer": optimizer, "lr": lr,
            "batch_size": given["batch_size"] or BATCH_SIZE, "seed": 0 if given["seed"] is None else given["seed"],
            "epochs": args.epochs or (defaults["epochs"] if dataset == "digits" else TOY_EPOCHS[dataset])}

def _check_outputs(args) -> str | None:
    """Refuse --save and --plot paths that cannot be written, before any training; returns the plot's path.

    NOTE: a plot path without an extension gets ".png", as matplotlib would add, so the path reported is the
    file written.
    """
    plot_path = args.plot
    if plot_path:
        from matplotlib.backend_bases import FigureCanvasBase
        extension = os.path.splitext(plot_path)[1].lower().lstrip(".")
        if not extension:
            plot_path += ".png"
        elif extension not in FigureCanvasBase.get_supported_filetypes():
            raise TrainError(f"--plot {plot_path}: matplotlib cannot write .{extension} files; use one of "
                             f"{', '.join('.' + e for e in sorted(FigureCanvasBase.get_supported_filetypes()))}")
    for flag, path in (("--save", args.save), ("--plot", plot_path)):
        if not path:
            continue
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise TrainError(f"{flag} {path}: it is a directory; give a file name")
        if not os.path.isdir(directory):
            raise TrainError(f"{flag} {path}: the directory {directory} does not exist")
        if not os.access(directory, os.W_OK):
            raise TrainError(f"{flag} {path}: the directory {directory} is not writable")
    return plot_path


def _load_data(cr, config: dict):
    # NOTE: the train/test split is fixed (seed 0) whatever --seed says, so runs stay comparable.
    if config["dataset"] == "digits":
        return cr.datasets.load_digits(flatten=config["model"] != "cnn")
    if config["dataset"] == "moons":
        return cr.datasets.moons(n_samples=600, noise=0.2)
    return cr.datasets.spiral(n_per_class=200, n_classes=3)


def build_model(cr, name: str, input_shape: tuple, n_classes: int):
    """The ``--model`` network for inputs of ``input_shape`` (one sample) and ``n_classes`` classes."""
    nn = cr.nn
    if name in ("linear-svm", "softmax"):
        return nn.Linear(input_shape[0], n_classes)
    if name == "mlp":
        return nn.Sequential(nn.Linear(input_shape[0], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, n_classes))
    channels, height, width = input_shape
    return nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * (height // 4) * (width // 4), n_classes))


def build_optimizer(cr, config: dict, params):
    weight_decay = SVM_WEIGHT_DECAY if config["model"] == "linear-svm" else 0.0
    lr = config["lr"]
    if config["optimizer"] == "sgd":
        return cr.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if config["optimizer"] == "adam":
        return cr.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return cr.optim.AdamW(params, lr=lr, weight_decay=max(weight_decay, 1e-2))


def _train_epoch(cr, model, loader, loss_fn, optimizer, n_train: int) -> tuple[float, float]:
    """One pass over the training data; the mean loss and the accuracy of the predictions made on the way."""
    model.train()
    total_loss, correct = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += int((logits.argmax(1) == y).sum().item())
    return total_loss / n_train, correct / n_train


def _count_correct(cr, model, x, y) -> int:
    model.eval()
    with cr.no_grad():
        return int((model(x).argmax(1) == y).sum().item())


def plot_history(history: dict, path: str, title: str) -> None:
    """Save the loss and accuracy curves of ``history`` (one value per epoch) to the image ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["loss"], label="train loss")
    ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    ax_acc.plot(epochs, [100 * a for a in history["train_acc"]], label="train")
    ax_acc.plot(epochs, [100 * a for a in history["test_acc"]], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
