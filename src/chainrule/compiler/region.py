"""Compiled regions that stay differentiable: a compiled module's forward inside an eager training loop.

When a traced call returns tensors that require grad, the tracer also records their backward (the engine's VJPs
for symbolic cotangents, ``autograd.grad(outputs, inputs, cotangents)``). The program is then split in two:
the forward (returning the results and the *residuals*, the forward values the backward reads) and the backward
(from residuals and cotangents to the gradients of the inputs that require grad). On replay, the region runs as
one node of the eager graph (:class:`CompiledRegion`, an ``autograd.Function``), so ``loss.backward()`` outside
the compiled function reaches the parameters through the generated backward code.
"""

from __future__ import annotations

from .. import _state
from .._backend import xp
from ..autograd.function import Function
from ..program import Program
from ..tensor import _wrap
from .codegen import Plan, build
from .state import ArraySource, CotangentSource


class Region:
    """A forward and a backward function generated from one trace (see the module docstring)."""

    def __init__(self, plan: Plan, forward_ids: set, diff_inputs: list, region_grads: list, diff_positions: list,
                 backend: str, name: str):
        program = plan.program
        forward_eqs = [eq for eq in program.equations if id(eq) in forward_ids]
        backward_eqs = [eq for eq in program.equations if id(eq) not in forward_ids]
        defined_forward = {id(v) for eq in forward_eqs for v in eq.outputs}
        defined_forward |= {id(v) for v, source, _ in plan.reads if not isinstance(source, CotangentSource)}
        cotangents = [(v, s) for v, s, _ in plan.reads if isinstance(s, CotangentSource)]
        residuals, seen = [], set()
        wanted = [v for eq in backward_eqs for v in eq.inputs] + [g for g in region_grads if g is not None]
        for v in wanted:
            if id(v) in defined_forward and id(v) not in seen:
                seen.add(id(v))
                residuals.append(v)
        self.n_results = len(plan.results)
        forward = Program()
        forward.consts = program.consts
        forward.inputs = [v for v, s, _ in plan.reads if not isinstance(s, CotangentSource)]
        forward.equations = forward_eqs
        forward.outputs = plan.results + residuals + [v for _, v in plan.writes]
        forward_plan = Plan(forward.check(), [r for r in plan.reads if not isinstance(r[1], CotangentSource)],
                            plan.writes, plan.grads, plan.results + residuals, plan.phases, plan.local_names)
        backward = Program()
        backward.consts = program.consts
        backward.inputs = residuals + [v for v, _ in cotangents]
        backward.equations = backward_eqs
        self.grad_mask = [g is not None for g in region_grads]
        backward.outputs = [g for g in region_grads if g is not None]
        self.forward, forward_code, names = build(forward_plan, backend, name)
        reads = [(v, ArraySource(i, names[id(v)]), 0) for i, v in enumerate(residuals)]
        reads += [(v, ArraySource(len(residuals) + s.index, s.name), 0) for v, s in cotangents]
        backward_plan = Plan(backward.check(), reads, [], [], backward.outputs, [(0, "backward")],
                             plan.local_names)
        self.backward, backward_code, _ = build(backward_plan, backend, name + "_backward")
        self.code = forward_code + "\n" + backward_code
        self.diff_inputs = diff_inputs
        self.diff_positions = diff_positions
        self.result_types = [(v.shape, v.dtype) for v in plan.results]

    def __call__(self, leaves: list) -> list:
        inputs = [source.tensor if hasattr(source, "tensor") else leaves[source.index] for source in self.diff_inputs]
        outs = CompiledRegion.apply(self, leaves, *inputs)
        return list(outs)


class CompiledRegion(Function):
    """One compiled region as a node of the eager graph: its gradients come from the generated backward."""

    @staticmethod
    def forward(ctx, region: Region, leaves: list, *inputs):
        arrays = region.forward(leaves)
        ctx.region, ctx.residuals = region, arrays[region.n_results:]
        outs = tuple(_wrap(a) for a in arrays[:region.n_results])
        ctx.mark_non_differentiable(*[o for o in outs if o._data.dtype.kind != "f"])
        return outs

    @staticmethod
    def backward(ctx, *grads):
        if _state.grad_enabled:
            raise RuntimeError("chainrule.compile: a compiled region's backward is generated code on arrays, so it "
                               "cannot be differentiated again (create_graph=True); compile the function that "
                               "takes the higher derivative instead, or call it uncompiled")
        region = ctx.region
        cotangents = [grads[p]._data if grads[p] is not None else xp.zeros(*region.result_types[p])
                      for p in region.diff_positions]
        arrays = iter(region.backward(list(ctx.residuals) + cotangents))
        gs = [_wrap(next(arrays)) if present else None for present in region.grad_mask]
        return (None, None) + tuple(gs)
