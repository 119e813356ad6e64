"""What moved between two snapshots, and why (docs/model.md, "What moved"):
snapshots as plain data with a hash chain (`snapshot`), the edits people made apart from
drift (`edits`), the Shapley split of each score change over the groups of inputs
(`attribution`, with its kernel in `shapley` and who overtook whom in `overtaking`), and
the one-line reasons in words (`reasons`)."""
