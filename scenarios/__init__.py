"""PyBullet ground-truth worlds: spec + seed -> Episode (frames, masks, states, events, caption).

This package never imports torch.
"""
from .engine import RenderSpec, run_scenario
from .episode import Episode, EpisodeError, find_episodes, load_episode
from .registry import FAMILIES, SCENARIOS, UnknownScenarioError, get_scenario, scenarios_of


def generate_episode(scenario: str, seed: int, spec: RenderSpec = RenderSpec(), params: dict | None = None) -> Episode:
    """Simulate one episode of the named scenario (in memory; `Episode.save` writes it)."""
    return run_scenario(get_scenario(scenario), seed, spec, params)


__all__ = ["Episode", "EpisodeError", "FAMILIES", "RenderSpec", "SCENARIOS", "UnknownScenarioError",
           "find_episodes", "generate_episode", "get_scenario", "load_episode", "scenarios_of"]
