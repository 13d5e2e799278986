"""The feedback loop: completions logged, ratings stored, rates monitored, retraining
from the ratings (see docs in README, 'Feedback loop')."""
