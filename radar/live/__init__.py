"""The live/paper system's domain logic (no Ray): messages, clock, feed bookkeeping, state persistence,
paper execution, watchdog, arena, notifier. Actors in `actors/` are thin shells over these objects."""
