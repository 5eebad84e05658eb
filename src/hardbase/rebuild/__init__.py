"""Keep a repository's images fresh: image graph, staleness, rebuild plans, rollout."""
