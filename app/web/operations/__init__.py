"""The endpoints for running it at a company: the sync queue's API (`sync`), Jira webhooks
(`webhooks`) and Prometheus metrics (`metrics`)."""
