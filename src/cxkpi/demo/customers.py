"""The customer base: who can contact the bank when, and who leaves after a bad experience.

Customers are drawn before the contacts (segment, language, acquisition date, a contact
propensity with a gamma spread so that a few customers call often and a quarter never
do). Churn is drawn after the simulation, from what each customer went through: the
yearly churn hazard grows with abandoned calls, unresolved requests, long waits and low
CSAT, so the link between service quality and attrition is present in the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxkpi.demo.calendar import Calendar
from cxkpi.demo.reference import ENGLISH_SHARE, SEGMENT_PROPENSITY, SEGMENT_SHARE

CUSTOMERS_AT_SCALE_1 = 78_000
YEAR = 365.25 * 86400.0
#: Yearly churn hazard of a customer with a flawless experience, and the hazard ratio of
#: one unit of bad experience (capped).
BASE_CHURN_HAZARD = 0.05
BAD_EXPERIENCE_LOG_HR = 0.55
BAD_EXPERIENCE_CAP = 5.0


@dataclass(frozen=True)
class CustomerBase:
    """Customers sorted by acquisition time (seconds from the period start, < 0 before)."""

    n: int
    segment: np.ndarray  # int8
    language: np.ndarray  # int8
    acquired: np.ndarray  # float64 seconds
    weight: np.ndarray  # contact propensity
    cum_weight: np.ndarray

    def pick(self, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One customer per contact time ``t``, among those acquired by then, by propensity."""
        eligible = np.searchsorted(self.acquired, t, side="right")
        eligible = np.maximum(eligible, 1)
        target = rng.random(t.size) * self.cum_weight[eligible - 1]
        idx = np.searchsorted(self.cum_weight, target, side="right")
        out: np.ndarray = np.minimum(idx, eligible - 1).astype(np.int32)
        return out


def customer_base(cal: Calendar, scale: float, rng: np.random.Generator) -> CustomerBase:
    """Draw the customers of the bank's service (about 78k at scale 1)."""
    n = max(60, int(round(CUSTOMERS_AT_SCALE_1 * scale)))
    segment = rng.choice(len(SEGMENT_SHARE), size=n, p=SEGMENT_SHARE).astype(np.int8)
    language = (rng.random(n) < np.asarray(ENGLISH_SHARE)[segment]).astype(np.int8)
    new = rng.random(n) < 0.15
    # Tenure of existing customers: exponential, mean 9 years, at most 40 years.
    tenure = np.minimum(rng.exponential(9.0, n), 40.0) * YEAR
    acquired = -tenure - rng.random(n) * 86400.0
    # New customers: through the year, more in January and September (back to school).
    month_w = np.array([1.0, 0.8, 1.4, 1.0, 1.0, 1.0, 0.9, 1.0, 0.8, 0.6, 1.5, 1.1])
    months = rng.choice(12, size=int(new.sum()), p=month_w / month_w.sum())
    acquired[new] = (months + rng.random(months.size)) * (cal.end / 12.0)
    acquired = np.floor(np.minimum(acquired, cal.end - 86400.0))
    weight = rng.gamma(2.5, 1.0 / 2.5, n) * np.asarray(SEGMENT_PROPENSITY)[segment]
    weight[new] *= 1.25  # onboarding questions
    order = np.argsort(acquired, kind="stable")
    segment, language, acquired, weight = segment[order], language[order], acquired[order], weight[order]
    return CustomerBase(
        n=n,
        segment=segment,
        language=language,
        acquired=acquired,
        weight=weight,
        cum_weight=np.cumsum(weight),
    )


def draw_churn(
    base: CustomerBase,
    cal: Calendar,
    bad: np.ndarray,
    last_contact: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Churn time per customer (NaN = still active at the end of the period).

    ``bad`` is a per-customer count of bad experiences, ``last_contact`` the end of the
    customer's last contact (NaN if none). A churner leaves after the last contact, some
    weeks later; a churn that would fall after the period end is not observed.
    """
    start = np.maximum(base.acquired, 0.0)
    exposure = (cal.end - start) / YEAR
    hazard = BASE_CHURN_HAZARD * np.exp(BAD_EXPERIENCE_LOG_HR * np.minimum(bad, BAD_EXPERIENCE_CAP))
    churns = rng.random(base.n) < 1.0 - np.exp(-hazard * exposure)
    has_contact = ~np.isnan(last_contact)
    after_contact = last_contact + 86400.0 * (1.0 + rng.exponential(24.0, base.n))
    anytime = start + rng.random(base.n) * (cal.end - start)
    when = np.where(has_contact, after_contact, anytime)
    when = np.floor(np.maximum(when, base.acquired + 86400.0))
    out: np.ndarray = np.where(churns & (when < cal.end), when, np.nan)
    return out
