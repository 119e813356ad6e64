"""What moved between two snapshots, and why (SCORING.md): snapshots as plain data with a
hash chain (`snapshot`), the Shapley split of each score change over the groups of inputs
(`attribution`), and the one-line reasons in words (`reasons`)."""
