package dev.flywheel.pairs;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DeadLetter;

/** What the assembler emits (in memory); the topology routes each kind to its sink. */
sealed interface Outbound {

  /** Key: promptKey. */
  record Group(ComparisonGroup group) implements Outbound {}

  /** Key: the original record's raw key. */
  record Dead(DeadLetter letter) implements Outbound {}

  /** A task's cumulative counters, for the metrics publisher. Key: the task id. */
  record TaskTotals(Counters counters) implements Outbound {}
}
