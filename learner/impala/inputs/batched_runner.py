"""An EnvRunner whose per-step bookkeeping is batched over its sub-envs (issue #25).

RLlib's `SingleAgentEnvRunner._sample` does, every step and for every sub-env: unbatch the
observations and actions, build a dict of model outputs, `episode.add_env_step(...)`, and look
up the `on_episode_step` callbacks. With 64 mazes that was ~a third of a sampling step, and it
grows with the number of sub-envs. `BatchedEnvRunner` records each vector step as a few
[B, ...] arrays (inputs.episode_columns) and writes them into the episodes once per episode
end and once at the end of `sample()`. What it returns is what RLlib's runner returns: the
ended episodes and the cut chunks of the ongoing ones, numpy'ized, with the same ids, lookback
buffers, extra model outputs (ACTION_LOGP, STATE_OUT, WEIGHTS_SEQ_NO) and infos, so the
learner's connector pipeline and the callbacks see no difference
(tests/component/test_batched_runner.py compares both runners step for step).

    config.env_runners(env_runner_cls=BatchedEnvRunner, ...)   # with the lean connectors

Differences, all at episode boundaries: `on_episode_end` runs at the end of `sample()`
(after the same sub-env's next `on_episode_created`/`on_episode_start`), and `on_episode_step`
is not called (no callback of this project uses it; a config that sets one is refused).
`sample(num_episodes=...)` and random actions take RLlib's own path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.callbacks.utils import make_callback
from ray.rllib.core.columns import Columns
from ray.rllib.env.env_runner import ENV_STEP_FAILURE
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.rllib.utils.metrics import (ENV_TO_MODULE_CONNECTOR, MODULE_TO_ENV_CONNECTOR,
                                     RLMODULE_INFERENCE_TIMER)

from learner.impala.inputs.connectors import BATCHED_OUTPUTS, FRESH_FOR_ACTIONS, FRESH_FOR_STATE
from learner.impala.inputs.episode_columns import StepColumns


class BatchedEnvRunner(SingleAgentEnvRunner):
    """`SingleAgentEnvRunner` with batched bookkeeping for `sample(num_timesteps=...)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overridden = any(type(c).on_episode_step is not RLlibCallback.on_episode_step
                         for c in self._callbacks)
        if overridden or self.config.callbacks_on_episode_step:
            raise ValueError("BatchedEnvRunner does not call on_episode_step callbacks: use "
                             "RLlib's SingleAgentEnvRunner (impala.batched_env_runner: false)")

    def _sample(self, *, num_timesteps: int | None = None, num_episodes: int | None = None,
                explore: bool, random_actions: bool = False,
                force_reset: bool = False) -> list[Any]:
        if num_timesteps is None or random_actions or self.module is None:
            return super()._sample(num_timesteps=num_timesteps, num_episodes=num_episodes,
                                   explore=explore, random_actions=random_actions,
                                   force_reset=force_reset)
        if force_reset or self._needs_initial_reset:
            self._reset_envs_and_episodes(explore)
        episodes, shared = self._ongoing_episodes, self._shared_data
        shared[BATCHED_OUTPUTS] = True
        steps = StepColumns()
        # Sub-env i's steps not yet in its episode start at segment_start[i]; a sub-env whose
        # episode ended last step gets its reset observation from this step (next-step
        # autoreset), which is no env step.
        segment_start = np.zeros(self.num_envs, dtype=np.int64)
        awaiting_reset = np.array([not episode.is_reset for episode in episodes])
        # What RLlib's runner shows the module-to-env connector: an episode with no step yet.
        fresh = np.array([episode.t == 0 for episode in episodes])
        ended: list[tuple[Any, int, int, int]] = []
        ts = 0
        while ts < num_timesteps:
            to_module, self._cached_to_module = self._cached_to_module, None
            with self.metrics.log_time(RLMODULE_INFERENCE_TIMER):
                if explore:
                    runners = self.config.num_env_runners or 1
                    t = (self.num_env_steps_sampled_lifetime // runners + ts) * runners
                    to_env = self.module.forward_exploration(to_module, t=t)
                else:
                    to_env = self.module.forward_inference(to_module)
            shared[FRESH_FOR_ACTIONS] = fresh
            to_env = self._module_to_env(rl_module=self.module, batch=to_env,
                                         episodes=episodes, explore=explore,
                                         shared_data=shared, metrics=self.metrics,
                                         metrics_prefix_key=(MODULE_TO_ENV_CONNECTOR,))
            actions = to_env.pop(Columns.ACTIONS)
            results = self._try_env_step(to_env.pop(Columns.ACTIONS_FOR_ENV, actions))
            if results == ENV_STEP_FAILURE:
                # As RLlib does: the ongoing episodes are dropped; ended ones are kept.
                done = self._finish_ended(steps, ended)
                self._reset_envs_and_episodes(explore)
                return done + self._sample(num_timesteps=num_timesteps, explore=explore)
            observations, rewards, terminateds, truncateds, infos = results
            resetting = awaiting_reset
            stepped = ~resetting
            ts += int(stepped.sum())
            steps.record({Columns.OBS: observations, Columns.ACTIONS: actions,
                          Columns.REWARDS: rewards, Columns.TERMINATEDS: terminateds,
                          Columns.TRUNCATEDS: truncateds, **to_env}, infos)
            step = len(steps) - 1
            for env_index in np.flatnonzero(resetting).tolist():
                episodes[env_index].add_env_reset(observation=observations[env_index],
                                                  infos=infos[env_index])
                segment_start[env_index] = step + 1
            shared[FRESH_FOR_STATE] = resetting
            self._cached_to_module = self._env_to_module(
                episodes=episodes, batch={}, explore=explore, rl_module=self.module,
                shared_data=shared, metrics=self.metrics,
                metrics_prefix_key=(ENV_TO_MODULE_CONNECTOR,), **{Columns.OBS: observations})
            for env_index in np.flatnonzero(resetting).tolist():
                self._make_on_episode_callback("on_episode_start", env_index, episodes)
            awaiting_reset = stepped & (np.asarray(terminateds) | np.asarray(truncateds))
            for env_index in np.flatnonzero(awaiting_reset).tolist():
                ended.append((episodes[env_index], env_index, segment_start[env_index], step + 1))
                self._new_episode(env_index, episodes)
            fresh = resetting | awaiting_reset
        for key in (BATCHED_OUTPUTS, FRESH_FOR_ACTIONS, FRESH_FOR_STATE):
            shared.pop(key, None)  # RLlib's own `_sample` (num_episodes) reads its episodes
        done = self._finish_ended(steps, ended)
        ongoing = self._cut_ongoing(steps, segment_start, awaiting_reset)
        self._log_env_steps(metric=self._metrics_num_env_steps_sampled, num_steps=ts)
        self._increase_sampled_metrics(ts, len(done))
        return done + ongoing

    def _finish_ended(self, steps: StepColumns, ended: list[tuple[Any, int, int, int]]
                      ) -> list[Any]:
        """The ended episodes, whole in their last chunk, numpy'ized, after `on_episode_end`."""
        steps.stack()
        done = []
        for episode, env_index, start, stop in ended:
            steps.append_to(episode, env_index, start, stop, weights_seq_no=self._weights_seq_no)
            make_callback("on_episode_end", callbacks_objects=self._callbacks,
                          callbacks_functions=self.config.callbacks_on_episode_end,
                          kwargs=dict(episode=episode, env_runner=self,
                                      metrics_logger=self.metrics, env=self.env.unwrapped,
                                      rl_module=self.module, env_index=env_index,
                                      prev_episode_chunks=self._ongoing_episodes_for_metrics[
                                          episode.id_]))
            done.append(episode.to_numpy())
        self._done_episodes_for_metrics.extend(done)
        return done

    def _cut_ongoing(self, steps: StepColumns, segment_start: np.ndarray,
                     awaiting_reset: np.ndarray) -> list[Any]:
        """The ongoing episodes' chunks of this sample (as RLlib cuts them: the successors keep
        `episode_lookback_horizon` steps of lookback)."""
        chunks = []
        for env_index, episode in enumerate(self._ongoing_episodes):
            if not awaiting_reset[env_index]:
                steps.append_to(episode, env_index, segment_start[env_index], len(steps),
                                weights_seq_no=self._weights_seq_no)
        successors = [episode.cut(len_lookback_buffer=self.config.episode_lookback_horizon)
                      for episode in self._ongoing_episodes]
        for episode in self._ongoing_episodes:
            if episode.t == 0:
                continue
            episode.validate()
            self._ongoing_episodes_for_metrics[episode.id_].append(episode)
            chunks.append(episode.to_numpy())
        self._ongoing_episodes = successors
        return chunks
