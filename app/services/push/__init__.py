"""`roadmap push` (docs/cli.md): score and rank written back to the tracker, only where they
changed (`scores`), and with `--estimates` the estimates kept in the store written into its
impact field as lines with `by` (`estimates`)."""
