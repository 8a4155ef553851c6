"""Reports: the agent's scorecard, team and evaluator reports, evaluator drift, and the home
page's cards."""
