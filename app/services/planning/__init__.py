"""The plan and the risk analysis as use cases (docs/model.md, "The plan" and "Uncertainty";
docs/cli.md, `roadmap plan` and `roadmap risk`): the capacity plan (`plan`), P(in plan) and
the value of information (`risk`), and what either may cost a request (`budget`)."""
