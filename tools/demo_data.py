"""Regenerate the demo's CSV files: `python tools/demo_data.py` (not shipped: the package holds only the files).

The files are committed; this script documents how they were made (a seeded random walk
from each KPI's baseline towards where the story wants it on 2026-11-20).
"""
from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1] / "app" / "demo"
END = date(2026, 11, 20)
START = date(2026, 1, 1)

# kpi: (value a year ago, baseline on START, value on END, relative daily noise, cadence)
SERIES = {
    "mrr": (171000, 180000, 234000, 0.002, "daily"),
    "cac": (1450, 1400, 1185, 0.03, "daily"),
    "new_paid_accounts": (36, 38, 46, 0.08, "daily"),
    "signups": (400, 420, 548, 0.06, "daily"),
    "trial_conversion": (0.138, 0.14, 0.148, 0.04, "daily"),
    "activation": (0.30, 0.31, 0.329, 0.03, "daily"),
    "nrr": (1.01, 1.02, 1.085, 0.004, "daily"),
    "logo_churn": (0.022, 0.021, 0.0166, 0.03, "daily"),
    "expansion_rate": (0.033, 0.035, 0.052, 0.03, "daily"),
    "weekly_active_teams": (0.51, 0.52, 0.585, 0.015, "daily"),
    "nps": (27, 28, 41, 0.03, "daily"),
    "referral_share": (0.078, 0.08, 0.094, 0.05, "daily"),
    "lead_time": (47, 45, 33.5, 0.03, "daily"),
    "defect_rate": (4.2, 4.0, 3.6, 0.08, "daily"),
    "partner_mrr": (11000, 12000, 26500, 0.01, "monthly"),    # a finance export, monthly: goes stale
    "integrations_live": (13, 14, 24, 0.0, "daily"),
    "blog_pageviews": (52000, 54000, 61000, 0.12, "daily"),
}

INTEGER = {"new_paid_accounts", "signups", "integrations_live", "blog_pageviews"}

# Shipped initiatives and what they really did (the outcomes loop): key -> (day it became
# done, who estimated, {kpi: true lift from that day}). A true lift is a step in the
# series from the launch on, scaled so that the value on END is what the story wants (the
# current values, and so the ranking, stay as they were). alice expects about twice what
# happens; bob's estimates come true, a little more than he dares to say.
LAUNCHES = {
    "FN-108": (date(2026, 7, 6), "bob", {"signups": 0.06}),
    "FN-122": (date(2026, 8, 3), "bob", {"weekly_active_teams": 0.04}),
    "FN-136": (date(2026, 8, 10), "alice", {"defect_rate": 0.0}),
    "FN-165": (date(2026, 9, 14), "alice", {"defect_rate": -0.05, "nps": 0.0}),
    "FN-166": (date(2026, 8, 17), "alice", {"activation": 0.04}),
    "FN-167": (date(2026, 9, 7), "alice", {"trial_conversion": 0.0}),
    "FN-168": (date(2026, 11, 5), "bob", {"signups": 0.03}),       # still measuring on END
}
ESTIMATOR_OF_TEAM = {"growth": "alice", "platform": "bob", "customer": "carol"}


def launch_factor(kpi: str, d: date) -> float:
    """The product of the launches' steps on `kpi` at day `d`, relative to END."""
    f = 1.0
    for day, _who, lifts in LAUNCHES.values():
        lift = lifts.get(kpi, 0.0)
        f *= (1.0 if d >= day else 1.0 / (1.0 + lift))
    return f


def observations(rng: np.random.Generator) -> list[tuple[str, str, str]]:
    rows = []
    first = END - timedelta(days=364)
    days = [first + timedelta(days=n) for n in range(365)]
    for kpi, (before, base, end, noise, cadence) in SERIES.items():
        for d in days:
            if cadence == "monthly" and (d + timedelta(days=1)).day != 1:
                continue
            if d < START:
                share = (d - first).days / max(1, (START - first).days)
                trend = before + (base - before) * share
            else:
                share = (d - START).days / (END - START).days
                trend = base + (end - base) * (share ** 1.15)
            weekly = 1 - 0.06 * (d.weekday() >= 5) if kpi in ("signups", "new_paid_accounts", "blog_pageviews") else 1
            v = trend * weekly * launch_factor(kpi, d) * (1 + rng.normal(0, noise))
            if kpi in INTEGER:
                v = round(v) if kpi != "integrations_live" else round(trend)
            rows.append((kpi, d.isoformat(), f"{v:.6g}"))
    return rows


# key, title, status, effort, confidence, impact lines, labels
INITIATIVES = [
    ("FN-101", "Guided setup checklist for new workspaces", "To Do", 5, "", "activation +12% @70%", ""),
    ("FN-102", "Import jobs and customers from spreadsheets", "In Progress", 8, "", "activation +8%..+15% @60%; trial_conversion +3%", ""),
    ("FN-103", "Sample data workspace for trials", "To Do", 3, "", "activation +6% @50%", ""),
    ("FN-104", "In-app onboarding videos", "To Do", 2, "", "activation +2%..+4% @40%", ""),
    ("FN-105", "Trial extension offer on day 12", "To Do", 2, "", "trial_conversion +5% @60%", ""),
    ("FN-106", "Pricing page redesign with annual toggle", "To Do", 5, "", "trial_conversion +4% @50%; mrr +1% @40%", ""),
    ("FN-107", "Sales-assist chat for high-intent trials", "To Do", 8, "80%", "trial_conversion +10% ; new_paid_accounts +4%", ""),
    ("FN-108", "SSO with Google and Microsoft at sign-up", "Done", 3, "", "signups +6% @80%", ""),
    ("FN-109", "Free scheduling template gallery (SEO)", "To Do", 5, "", "signups +5%..+10% @40%; blog_pageviews +20%", ""),
    ("FN-110", "Referral program: give a month, get a month", "To Do", 8, "", "referral_share +30% @60%", ""),
    ("FN-111", "Invite teammates during onboarding", "To Do", 3, "", "activation +5% @70%; referral_share +8% @50%", ""),
    ("FN-112", "Capterra and G2 review campaign", "To Do", 2, "", "signups +3% @50%", ""),
    ("FN-113", "Self-serve seat upgrades in billing", "To Do", 5, "", "expansion_rate +12% @70%", ""),
    ("FN-114", "Usage-based add-on: SMS reminders", "In Progress", 13, "", "expansion_rate +15%..+25% @50%; mrr +2% @50%", ""),
    ("FN-115", "Dunning emails and card updater", "To Do", 3, "", "logo_churn -8% @80%", ""),
    ("FN-116", "Cancellation flow with pause option", "To Do", 5, "", "logo_churn -10% @60%", ""),
    ("FN-117", "Health score alerts for customer success", "To Do", 8, "", "logo_churn -6% @50%; nrr +1% @40%", ""),
    ("FN-118", "Offline mode for the technician app", "In Progress", 13, "", "weekly_active_teams +6% @60%; nps +8% @50%", ""),
    ("FN-119", "Route optimisation for daily schedules", "To Do", 13, "", "weekly_active_teams +8% @50%; expansion_rate +5% @40%", ""),
    ("FN-120", "Customer self-booking portal", "To Do", 8, "", "weekly_active_teams +5% @60%; signups +2% @30%", ""),
    ("FN-121", "Recurring job templates", "To Do", 3, "", "weekly_active_teams +3% @70%", ""),
    ("FN-122", "Photo and signature capture on job completion", "Done", 5, "", "weekly_active_teams +4% @70%", ""),
    ("FN-123", "Faster schedule board on large accounts", "To Do", 5, "", "nps +6% @60%; logo_churn -2% @40%", ""),
    ("FN-124", "In-app NPS survey with follow-up", "To Do", 1, "", "nps +3%", ""),
    ("FN-125", "QuickBooks Online two-way sync", "In Progress", 13, "", "integrations_live +4% @90%; logo_churn -5% @60%", ""),
    ("FN-126", "Xero integration", "To Do", 8, "", "integrations_live +4% @80%; partner_mrr +6% @50%", ""),
    ("FN-127", "Public REST API v2 with webhooks", "To Do", 13, "", "integrations_live +15% @60%; expansion_rate +4% @40%", ""),
    ("FN-128", "Partner portal with deal registration", "To Do", 8, "", "partner_mrr +20% @50%", ""),
    ("FN-129", "Marketplace listing for Zapier", "To Do", 3, "", "integrations_live +4% @80%", ""),
    ("FN-130", "Reseller pricing and co-branded invoices", "To Do", 5, "", "partner_mrr +10%..+25% @40%", ""),
    ("FN-131", "Trunk-based development and feature flags", "In Progress", 8, "", "lead_time -15% @70%", ""),
    ("FN-132", "Contract tests for the mobile API", "To Do", 5, "", "defect_rate -20% @60%", ""),
    ("FN-133", "Nightly end-to-end suite on real devices", "To Do", 8, "", "defect_rate -25% @50%; lead_time +3% @60%", ""),
    ("FN-134", "Design system components for web", "To Do", 8, "", "lead_time -8% @50%", ""),
    ("FN-135", "Preview environments per pull request", "To Do", 5, "", "lead_time -10% @60%; defect_rate -5% @40%", ""),
    ("FN-136", "On-call runbooks and incident reviews", "Done", 2, "", "defect_rate -5% @50%", ""),
    ("FN-137", "Annual plan discount at checkout", "To Do", 2, "", "mrr +1.5% @60%; logo_churn -3% @50%", ""),
    ("FN-138", "Paid ads landing pages per trade", "To Do", 3, "", "signups +4% @50%; cac -3% @40%", ""),
    ("FN-139", "Lower-funnel retargeting pause", "To Do", 1, "", "cac -5% @50%; signups -1% @50%", ""),
    ("FN-140", "Quote-to-invoice flow", "To Do", 8, "", "weekly_active_teams +4% @60%; expansion_rate +6% @50%", ""),
    ("FN-141", "Multi-location accounts", "To Do", 13, "", "expansion_rate +10% @50%; mrr +1% @40%", ""),
    ("FN-142", "Technician time tracking and payroll export", "To Do", 8, "", "weekly_active_teams +5% @50%", ""),
    ("FN-143", "Inventory on the van", "To Do", 13, "", "expansion_rate +6%..+12% @40%", ""),
    ("FN-144", "Customer feedback after each visit", "To Do", 3, "", "nps +4% @60%; referral_share +5% @40%", ""),
    ("FN-145", "Spanish localisation", "To Do", 8, "", "signups +5% @50%; activation +2% @40%", ""),
    ("FN-146", "Accessibility audit fixes (WCAG 2.2 AA)", "To Do", 5, "", "nps +2% @50%", ""),
    ("FN-147", "Stripe Tax for invoices", "To Do", 3, "", "", "kpi:expansion_rate"),
    ("FN-148", "Churn interviews with 30 lost accounts", "To Do", 2, "", "", "kpi:logo_churn kpi:nrr"),
    ("FN-149", "Competitive teardown: ServiceTitan and Jobber", "To Do", 2, "", "", "kpi:trial_conversion"),
    ("FN-150", "Dark mode", "To Do", 3, "", "", ""),
    ("FN-151", "Rewrite the marketing site in a new framework", "To Do", 13, "", "blog_pageviews +25% @60%", ""),
    ("FN-152", "Company offsite planning tool", "To Do", 2, "", "", ""),
    ("FN-153", "Upgrade to the new charting library", "To Do", 3, "", "", "tech-debt"),
    ("FN-154", "Job costing report", "To Do", 5, "", "expansion_rate +4% @50%; actvation +2%", ""),
    ("FN-155", "AI summary of job notes", "To Do", 8, "", "weekly_active_teams maybe +5%?", ""),
    ("FN-156", "Two-factor authentication for admins", "To Do", "", "", "logo_churn -1% @50%; nps +1%", ""),
    ("FN-157", "Enterprise audit log", "To Do", 8, "", "expansion_rate +5% @40%; mrr +0.5% @40%", ""),
    ("FN-158", "Customer SMS notifications: technician on the way", "To Do", 5, "", "nps +5% @60%; weekly_active_teams +2% @50%", ""),
    ("FN-159", "Signup form: drop the phone number field", "To Do", 1, "", "signups +3% @70%", ""),
    ("FN-160", "Trial nurture email sequence by trade", "To Do", 3, "", "trial_conversion +4% @60%; activation +3% @50%", ""),
    ("FN-161", "Schedule board drag-and-drop performance", "To Do", 3, "", "nps +2% @50%; weekly_active_teams +1% @50%", ""),
    ("FN-162", "Release train every two weeks", "To Do", 3, "", "lead_time -12% @60%", ""),
    ("FN-163", "Partner certification course", "To Do", 5, "", "partner_mrr +8% @50%; integrations_live +2% @50%", ""),
    ("FN-164", "Win-back campaign for churned accounts", "To Do", 2, "", "mrr +0.5% @50%", ""),
    ("FN-165", "Mobile app crash reporting and fixes", "Done", 3, "", "defect_rate -10% @60%; nps +2% @50%", ""),
    ("FN-166", "Onboarding checklist emails", "Done", 3, "", "activation +10% @70%", ""),
    ("FN-167", "Trial countdown banner", "Done", 1, "", "trial_conversion +8% @60%", ""),
    ("FN-168", "One-click signup with work email", "Done", 2, "", "signups +4% @60%", ""),
]

CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}

# The plan's columns (roadmap.toml [planning]): each item's team by the KPI it moves first,
# a few blockers, and two must-haves (label "must": admin 2FA and the accessibility fixes).
TEAM_OF_KPI = {"growth": ("activation", "trial_conversion", "signups", "referral_share", "mrr", "cac",
                          "blog_pageviews", "kpi:trial_conversion"),
               "platform": ("integrations_live", "partner_mrr", "lead_time", "defect_rate", "tech-debt", "")}
BLOCKED_BY = {"FN-111": "FN-101", "FN-113": "FN-106", "FN-128": "FN-130", "FN-135": "FN-131", "FN-141": "FN-113"}
MUST = ("FN-146", "FN-156")


def team_of(impact: str, labels: str) -> str:
    first = impact.split()[0] if impact else (labels.split() or [""])[0]
    return next((t for t, kpis in TEAM_OF_KPI.items() if first in kpis), "customer")


def write(rng_seed: int = 20261120) -> None:
    rng = np.random.default_rng(rng_seed)
    with (HERE / "observations.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["kpi", "date", "value"])
        w.writerows(observations(rng))
    with (HERE / "initiatives.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["key", "title", "status", "status_category", "effort", "confidence", "impact", "labels", "url",
                    "team", "blocked_by", "estimator", "done_on"])
        for key, title, status, effort, conf, impact, labels in INITIATIVES:
            tags = " ".join(x for x in (labels, "must" if key in MUST else "") if x)
            team = team_of(impact, labels)
            done, who, _ = LAUNCHES.get(key, (None, ESTIMATOR_OF_TEAM[team], None))
            w.writerow([key, title, status, CATEGORY[status], effort, conf, impact, tags,
                        f"https://fieldnote.atlassian.net/browse/{key}", team, BLOCKED_BY.get(key, ""), who,
                        done.isoformat() if done else ""])


if __name__ == "__main__":
    write()
