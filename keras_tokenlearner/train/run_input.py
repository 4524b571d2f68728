"""The training input's iterator, and its position across a resume.

A run iterates ONE stream, `run.data.train(0, total_steps)`, and each
checkpoint saves the iterator's position with it (`checkpoints.save`). A
resumed run builds the same stream and restores the position, so it reads
on from the batch it stopped at: starting at step 20,000 costs what starting
at step 200 does, and the batches are those of an uninterrupted run.

A pipeline whose position TensorFlow cannot save (a `py_function`, or other
state outside the pipeline, unless the dataset sets
`options.experimental_external_state_policy`) falls back to replay: the
first checkpoint prints one line saying why, and a run resumed from such a
checkpoint reads its input again up to the step it resumes at (a named
dataset from the start of the epoch, your own from the start).
"""

import sys

from keras_tokenlearner.train import checkpoints
from keras_tokenlearner.train import loop


class InputState:
    """The run's input iterator, restored to `start_step` from `checkpoint`."""

    def __init__(self, run, start_step, checkpoint):
        self.run, self.saveable = run, True
        self.iterator = loop.inputs(run.strategy, run.data.train(0, run.total_steps))
        if start_step == 0 or self._restore(checkpoint):
            return
        self.saveable = False  # the replayed stream is another pipeline than the saved one
        if run.config.verbose:
            print(f"Replaying the input to step {start_step}: {checkpoint} holds no input "
                  "position (its pipeline could not be saved).")
        self.iterator = loop.inputs(run.strategy, run.data.train(start_step, run.total_steps))

    def _restore(self, checkpoint):
        if not checkpoints.read_state(checkpoint).get("input_saved"):
            return False
        try:
            checkpoints.restore_input(checkpoint, self.iterator)
        except Exception as error:  # TensorFlow raises several kinds here
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ValueError(
                f"Could not restore the input position saved in {checkpoint} ({reason}). "
                "The training dataset's pipeline differs from the one that wrote it: "
                "resume with the same dataset, or give this run a workdir of its own "
                "(--workdir)."
            ) from None
        return True

    def saveable_iterator(self):
        """The iterator, while its position can be saved; else None."""
        return self.iterator if self.saveable else None

    def cannot_save(self, reason):
        """Prints the one line that says why, and stops trying."""
        self.saveable = False
        print(f"Warning: the input pipeline's position cannot be saved ({reason}); a run "
              "resumed from these checkpoints replays its input up to the step it resumes at.",
              file=sys.stderr)
