"""Stop-gradient modes of a pair's consistency loss, each a named trick.

For a pair (e_i, d_i) the consistency loss compares the encoder activation e_i
with its mirror decoder activation d_i. The mode says where its gradient may go:

========  ====================================================================
mode      gradient of the pair's loss
========  ====================================================================
none      into both sides: every layer below e_i and every layer below d_i
encoder   e_i is a fixed target; the gradient flows only through d_i (so it
          still reaches, through the bottleneck, the encoder layers that feed d_i)
decoder   d_i is a fixed target; only the layers e_1..e_i learn from the pair
local     the sub-autoencoder between the pair is re-run on a stopped copy of
          e_i: only the layers strictly between e_i and d_i (e_{i+1}..e_L, the
          bottleneck, and the decoder layers up to and including the one that
          makes d_i) learn, nothing below e_i does
========  ====================================================================

`none` and `decoder` let the encoder side move toward the decoder side: pair
them with `normalized_mse` to rule out the trivial match of shrinking both
activations. The forward value of a pair's loss is the same in every mode; only
its gradient differs (tests check exactly which variables get zero gradient).
"""

import dataclasses

from keras import ops

from ladderae.registry import Registry

__all__ = ["StopGradientMode", "modes", "get"]


@dataclasses.dataclass(frozen=True)
class StopGradientMode:
    """Which side of a pair is a constant, and whether the pair re-runs its inner layers."""

    name: str
    freeze_encoder_side: bool
    freeze_decoder_side: bool
    rerun_inner_layers: bool

    def apply(self, encoder_side, decoder_side):
        """Return the two sides with `ops.stop_gradient` applied as the mode says."""
        if self.freeze_encoder_side:
            encoder_side = ops.stop_gradient(encoder_side)
        if self.freeze_decoder_side:
            decoder_side = ops.stop_gradient(decoder_side)
        return encoder_side, decoder_side

    def _local_name(self, decoder):
        return f"{decoder}_local"

    def rerun(self, network, outputs, encoder, decoder, context):
        """Activations a training pass adds for this mode: for `local`, ``<decoder>_local``.

        That is the inner layers (after `encoder`, up to `decoder`) re-run on a
        stopped copy of the encoder activation in the pass's `context` (its noise): the
        same value as `decoder`, with gradient only into the inner layers.
        """
        if not self.rerun_inner_layers:
            return {}
        inner = network.inner_nodes(encoder, decoder)
        rerun = network.walk(inner, ops.stop_gradient(outputs[encoder]), context, before=outputs)
        return {self._local_name(decoder): rerun[decoder]}

    def decoder_side(self, outputs, decoder):
        """The decoder activation the pair's loss compares: the re-run one where `rerun` made it."""
        if self.rerun_inner_layers:
            return outputs.get(self._local_name(decoder), outputs[decoder])
        return outputs[decoder]


modes = Registry("stop-gradient mode", "stop_gradient")
for _mode in (
    StopGradientMode("none", False, False, False),
    StopGradientMode("encoder", True, False, False),
    StopGradientMode("decoder", False, True, False),
    StopGradientMode("local", True, False, True),
):
    modes.register(_mode.name)(_mode)

get = modes.get
