"""What feeds phase II's training loop: the EnvRunners' vector env with agent inputs (`env`),
the lean batched connector pipelines that step it (`connectors`), the EnvRunner that keeps its
episodes' bookkeeping batched (`batched_runner`, `episode_columns`) and its optional
exploration (`exploration`)."""
