"""Outcomes after launch: realised lift per estimated link against a counterfactual,
intervals widened by in-time placebos, verdicts, and each estimator's track record
(docs/model.md, "Outcomes" and "Calibration"). Pure: plain data in, plain data out."""
from scoring.outcomes.calibration import Calibration, Resolved, TrackRecord, calibrate
from scoring.outcomes.measure import (RESOLVED, VERDICTS, LaunchedLink, LinkOutcome, Measure,
                                      OutcomeParams, counterfactual_path, measure, measure_links)

__all__ = ["Calibration", "LaunchedLink", "LinkOutcome", "Measure", "OutcomeParams", "RESOLVED", "Resolved",
           "TrackRecord", "VERDICTS", "calibrate", "counterfactual_path", "measure", "measure_links"]
