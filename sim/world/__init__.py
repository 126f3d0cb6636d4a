"""World layer: the customer population, bill runs, the planner's forecast, churn hazards,
and head count over time. Arrays only; no SimPy here."""
