package dev.flywheel.pairs;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.HumanRanking;

/** What the decoders hand to the assembler (in memory, never serialised). Key: transcriptId. */
sealed interface Inbound {

  /** A decoded transcript on the partition its key belongs to. */
  record Transcript(ChatTranscript value, SourceRef source) implements Inbound {}

  /** A decoded ranking on the partition its key belongs to. */
  record Ranking(HumanRanking value, SourceRef source) implements Inbound {}

  /** Decoded fine but keyed (or partitioned) wrongly: goes through the re-keying topic first. */
  record Misrouted(SourceRef source) implements Inbound {}

  /** Could not be decoded: straight to the dead-letter topic. */
  record Dead(DeadLetter letter) implements Inbound {}
}
