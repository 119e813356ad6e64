"""Server-side SVG, drawn as markup so pages need no script and load nothing from elsewhere:
KPI trend lines, impact and allocation bars and the goal graph (`charts`), the goal graph's
layered layout (`graph_layout`), and several people's estimates of one link side by side
(`strip`). The outcomes page's own charts are in app/web/outcomes/."""
