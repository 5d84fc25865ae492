"""HTTP plumbing shared by the dashboard, the API and the webhooks."""
