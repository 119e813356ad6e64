"""The goals the backlog is scored against (docs/model.md): the goal graph of KPIs, higher
KPIs and objectives, built and validated (`graph`); where each KPI stands, its progress and
urgency (`progress`), seen through its window (`windows`); each KPI's value per objective,
the V matrix, and the backlog's KPI-impact product (`impact`); and the alignment check of
`roadmap check` (`alignment`)."""
