"""Collectors: Ray actors that fill the trajectory store with complete T-Maze episodes.

    fleet = CollectorFleet.start(tmaze, collect_config, store_url, "run", store_config)
    fleet.wait_for_episodes(store, num_episodes=4000)
    fleet.stop()
"""

from actors.collector import EpisodeCollector
from actors.config import CollectorConfig
from actors.fleet import CollectorFleet, collect_episodes
from actors.policies import BehaviourPolicy, UniformRandomPolicy

__all__ = [
    "BehaviourPolicy",
    "CollectorConfig",
    "CollectorFleet",
    "EpisodeCollector",
    "UniformRandomPolicy",
    "collect_episodes",
]
