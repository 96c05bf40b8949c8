"""What feeds phase II's training loop: the EnvRunners' vector env with agent inputs (`env`)
and the lean batched connector pipelines that step it (`connectors`)."""
