"""Did it move the KPI, on the web (docs/http.md, "Outcomes"): the blueprint with the page
`/outcomes` and its API (`blueprint`), what the page shows in a PM's words (`views`), and
its charts, an estimate against what happened and a KPI around its launch (`charts`)."""
