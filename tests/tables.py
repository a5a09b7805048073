"""Synthetic tables the tests share: a table the template never saw, for each task."""

import numpy as np
import pandas as pd

ROWS = 300


def customers(task: str, rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Customers of a subscription service; the target depends on the task."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["North", "South", "East", "West"], rows).astype(object)
    messy = rng.random(rows) < 0.15  # the same regions, typed by hand
    region[messy] = [f"  {r.lower()} " if i % 2 else r.upper() for i, r in
                     enumerate(region[messy])]
    tenure = rng.integers(1, 60, rows).astype(float)
    monthly = rng.gamma(2.0, 30.0, rows)
    monthly[rng.choice(rows, 4, replace=False)] *= 40  # a few data-entry outliers
    calls = rng.poisson(2, rows)
    table = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(rows)],
        "signup_date": (pd.Timestamp("2024-01-01")
                        + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")).strftime(
                            "%Y-%m-%d"),
        "region": region,
        "plan": rng.choice(["basic", "plus", "pro"], rows),
        "tenure_months": tenure,
        "monthly_spend": monthly.round(2),
        "support_calls": calls,
        "last_comment": [f"ticket {i}: {w} issue reported on call {c}" for i, (w, c) in
                         enumerate(zip(rng.choice(["billing", "login", "speed"], rows), calls,
                                       strict=True))],
    })
    table.loc[rng.random(rows) < 0.1, "tenure_months"] = np.nan
    table.loc[rng.random(rows) < 0.05, "plan"] = np.nan
    risk = 0.6 * calls - 0.05 * np.nan_to_num(tenure, nan=30) + rng.normal(0, 1, rows)
    if task == "binary":
        table["churned"] = (risk > np.median(risk)).astype(float)
        table["refund_issued"] = table["churned"]  # recorded after the churn: leakage
    elif task == "multiclass":
        table["segment"] = pd.cut(risk, 3, labels=["loyal", "wavering", "leaving"]).astype(str)
    else:
        table["lifetime_value"] = (monthly.clip(max=300) * np.nan_to_num(tenure, nan=30)
                                   + rng.normal(0, 50, rows)).round(2)
    target = {"binary": "churned", "multiclass": "segment", "regression": "lifetime_value"}[task]
    table.loc[rng.choice(rows, 5, replace=False), target] = np.nan
    duplicates = table.sample(6, random_state=seed)
    return pd.concat([table, duplicates], ignore_index=True)
