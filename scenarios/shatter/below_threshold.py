"""Below threshold: the strike scenario with hits that never reach the pane's break impulse.

The same roll into the same pre-fractured pane, but the momentum the ball carries into the
pane stays between 30% and 85% of the break impulse: the ball must bounce off and the
glass must stay whole (`n_pieces` 1) for the whole clip.
"""
from ..params import LogUniform
from .strike import Strike


class BelowThreshold(Strike):
    name = "below_threshold"
    description = "a ball rolls into a glass pane too softly to break it; the pane stays whole"
    ranges = {**Strike.ranges, "impact_ratio": LogUniform(0.3, 0.85)}  # momentum / break impulse < 1
    ood = {**Strike.ood, "impact_ratio": LogUniform(0.12, 0.25)}        # softer still
