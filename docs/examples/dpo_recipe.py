"""Google's recommended DPO recipe, with tuneport.

Preference tuning (DPO) works best on a model that already knows the task, so Google's
recipe takes two jobs:

1. supervised tuning on the *preferred* answers: the model learns the task;
2. preference tuning continued from the checkpoint step 1 produced: the model learns
   to prefer the better answer over the worse one.

Run it as it is to try it on tuneport's embedded Vertex AI emulator (nothing leaves
the machine)::

    python docs/examples/dpo_recipe.py

or on a profile of your ``tuneport.toml`` (a vertex one: the gemini backend runs
supervised tuning only, and refuses step 2 before sending anything)::

    python docs/examples/dpo_recipe.py --profile vertex-prod
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import tuneport
from tuneport.models import PreferenceExample, TuningJob

BASE_MODEL = "gemini-2.5-flash"

#: Support replies: the preferred answer is short, polite and actionable; the rejected one is not.
PREFERENCES = tuple(
    PreferenceExample(prompt=prompt, preferred=preferred, rejected=rejected)
    for prompt, preferred, rejected in [
        (
            "My order hasn't arrived.",
            "Sorry about that! Could you share your order number so I can check where it is?",
            "Orders arrive when they arrive.",
        ),
        (
            "How do I reset my password?",
            "Open Settings > Account > Reset password, and we'll email you a link.",
            "Figure it out from the settings somewhere.",
        ),
        (
            "Can I change my delivery address?",
            "Yes, until the order ships: open the order and choose 'Change address'.",
            "No idea, maybe.",
        ),
        (
            "The app crashes when I log in.",
            "Sorry! Please update to the latest version; if it still crashes, send us the error message.",
            "Works for me.",
        ),
        (
            "Do you ship to Canada?",
            "We do: delivery to Canada takes 5-8 business days.",
            "Look at the map.",
        ),
        (
            "I was charged twice.",
            "Sorry for the trouble! I've flagged the duplicate charge; the refund takes 3-5 days.",
            "That's your bank's problem.",
        ),
        (
            "Where can I find my invoice?",
            "Under Orders, pick the order and choose 'Download invoice'.",
            "Somewhere in your account.",
        ),
        (
            "Can I return a gift?",
            "Yes: returns of gifts are free within 30 days, and the refund goes to a gift card.",
            "Gifts are the giver's problem.",
        ),
    ]
)


@dataclass(frozen=True)
class Recipe:
    """The two jobs of the recipe, finished."""

    supervised: TuningJob
    preference: TuningJob


def run_recipe(
    client: tuneport.TuningClient,
    *,
    base_model: str = BASE_MODEL,
    epochs: int = 2,
    beta: float = 0.1,
    poll: float | None = None,
) -> Recipe:
    """Run both steps on *client* and return the finished jobs (``JobFailed`` if one fails)."""
    # Step 1: supervised tuning on the preferred answers.
    supervised = client.create(
        base_model=base_model,
        training_data=[(example.prompt[-1].text, example.preferred.text) for example in PREFERENCES],
        display_name="dpo-recipe-1-supervised",
        epoch_count=epochs,
    )
    supervised = client.wait(supervised.id, poll=poll)

    # Step 2: preference tuning, continued from the checkpoint step 1 produced.  Passing
    # the finished job as base_model continues from its tuned model; the client checks
    # that the checkpoint exists and that the base model still accepts tuning.
    checkpoint = supervised.default_checkpoint or supervised.checkpoints[-1]
    preference = client.create(
        base_model=supervised,
        checkpoint=checkpoint.id,
        method="preference",
        training_data=PREFERENCES,
        display_name="dpo-recipe-2-preference",
        epoch_count=epochs,
        beta=beta,
    )
    preference = client.wait(preference.id, poll=poll)
    return Recipe(supervised=supervised, preference=preference)


def report(client: tuneport.TuningClient, recipe: Recipe) -> None:
    """Print the checkpoints of both jobs, the preference job's loss and an answer."""
    for job in (recipe.supervised, recipe.preference):
        print(f"{job.display_name}: {job.id} {job.state} ({job.method} tuning)")
        for checkpoint in job.checkpoints:
            default = " (default)" if checkpoint.is_default else ""
            print(f"  checkpoint {checkpoint.id}: epoch {checkpoint.epoch}, step {checkpoint.step}{default}")
    print(
        f"step 2 continued from {recipe.preference.source_model}, "
        f"checkpoint {recipe.preference.source_checkpoint}"
    )
    metrics = client.metrics(recipe.preference.id)
    # The canonical loss curve where the backend has it, else the first series it reports.
    ranked = sorted(metrics.series.items(), key=lambda item: item[0] != "train_loss")
    name, loss = next((name, points) for name, points in ranked if points)
    print(f"preference {name}: {len(loss)} points, {loss[0].value:.3f} -> {loss[-1].value:.3f}")
    answer = client.generate(recipe.preference.id, "Can I change my delivery address?")
    print(f"answer of the tuned model: {answer.text!r}")


def connect(profile: str | None) -> tuneport.TuningClient:
    """A client on *profile*, or (``None``) on a Vertex AI emulator embedded in this process."""
    if profile is not None:
        return tuneport.connect(profile)
    return tuneport.connect(
        backend="vertex",
        endpoint="embedded",
        project="dpo-recipe",
        location="us-central1",
        staging_bucket="gs://dpo-recipe",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", help="a profile of tuneport.toml (default: an embedded Vertex emulator)")
    args = parser.parse_args(argv)
    with connect(args.profile) as client:
        # The emulator finishes a job in seconds; a real job takes hours, so poll gently there.
        recipe = run_recipe(client, poll=0.2 if args.profile is None else 60)
        report(client, recipe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
