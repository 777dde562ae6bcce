"""Independent computation of experiment statistics for tests/api/experiments_stats.rs.

Reads {"alpha": a, "baseline": id, "arms": [{"id": id, "values": [per-user values]}]} on stdin and writes, per
arm, n, mean, sample variance and (for treatments) the relative lift, its CI and two-sided p-value: a Welch
t-test on the relative difference with delta-method variance and Welch-Satterthwaite degrees of freedom. The
moments come from numpy, the t distribution from scipy, and the degrees of freedom are cross-checked against
scipy's own Welch test (ttest_ind(equal_var=False).df).
"""

import json
import math
import sys

import numpy as np
from scipy import stats


def arm_stats(values):
    x = np.asarray(values, dtype=float)
    return len(x), float(x.mean()) if len(x) else None, float(x.var(ddof=1)) if len(x) > 1 else None


def compare(base, treat, alpha):
    nb, mb, vb = arm_stats(base)
    nt, mt, vt = arm_stats(treat)
    if nb < 2 or nt < 2 or mb == 0:
        return None
    lift = mt / mb - 1
    var_lift = vt / (nt * mb**2) + vb * mt**2 / (nb * mb**4)
    if not var_lift > 0:
        return None
    df = (vb / nb + vt / nt) ** 2 / ((vb / nb) ** 2 / (nb - 1) + (vt / nt) ** 2 / (nt - 1))
    scipy_df = float(stats.ttest_ind(treat, base, equal_var=False).df)
    assert math.isclose(df, scipy_df, rel_tol=1e-9), (df, scipy_df)
    se = math.sqrt(var_lift)
    p = float(2 * stats.t.sf(abs(lift / se), df))
    margin = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return {"lift": lift, "ci": [lift - margin, lift + margin], "pValue": p, "df": df}


def main():
    spec = json.load(sys.stdin)
    arms = {a["id"]: a["values"] for a in spec["arms"]}
    base = arms[spec["baseline"]]
    out = {}
    for arm_id, values in arms.items():
        n, mean, var = arm_stats(values)
        result = {"n": n, "mean": mean, "variance": var}
        if arm_id != spec["baseline"]:
            result["comparison"] = compare(base, values, spec["alpha"])
        out[arm_id] = result
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
