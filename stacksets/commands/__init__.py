"""One module per verb; each exposes `run(ctx, args) -> exit status`."""
