"""The fixture scripts need flax or keras-hub and the authors' code: never collected."""

collect_ignore = ["fixtures"]
