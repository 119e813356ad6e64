"""Outcomes after launch: realised lift per estimated link against a counterfactual,
intervals widened by in-time placebos, verdicts, and each estimator's track record
(docs/model.md, "Outcomes" and "Calibration"). Pure: plain data in, plain data out."""
from scoring.outcomes.calibration import Calibration, Resolved, TrackRecord, calibrate  # noqa: F401
from scoring.outcomes.measure import (RESOLVED, VERDICTS, LaunchedLink, LinkOutcome, Measure,  # noqa: F401
                                      OutcomeParams, counterfactual_path, measure, measure_links)
