package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.PairwiseRewardLoss;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class GroupEncoderTest {

  private final ComparisonGroup group =
      new SyntheticPreferences(1, 0.0).group(DataSplit.TRAIN, Instant.EPOCH);

  @Test
  void encodesEveryResponseAfterThePromptAndMapsPairsToIndices() throws Exception {
    EncodedGroup e = new GroupEncoder(256).encode(group, 3, 42);
    assertEquals(3, e.partition());
    assertEquals(42, e.offset());
    assertEquals(4, e.sequences().size());
    assertEquals(4, e.comparisons().size(), "2 preferred x 2 others");
    for (int i = 0; i < 4; i++) {
      RankedResponse r = group.getResponses().get(i);
      int[] expected =
          new ChatTemplate()
              .encode(List.of(ChatTurn.user(group.getPrompt()), ChatTurn.assistant(r.getText())));
      assertArrayEquals(expected, e.sequences().get(i));
      assertEquals(ByteTokenizer.EOS, expected[expected.length - 1], "scored at the final EOS");
    }
    for (PairwiseRewardLoss.Comparison c : e.comparisons()) {
      assertEquals(0, group.getResponses().get(c.winner()).getTier());
      assertEquals(1, group.getResponses().get(c.loser()).getTier());
    }
    assertEquals(2, e.chosen().size());
    assertEquals(1, e.newestPolicyVersion());
  }

  @Test
  void longSequencesKeepTheirEnd() throws Exception {
    EncodedGroup full = new GroupEncoder(256).encode(group, 0, 0);
    EncodedGroup cut = new GroupEncoder(8).encode(group, 0, 0);
    for (int i = 0; i < 4; i++) {
      int[] f = full.sequences().get(i);
      assertArrayEquals(
          java.util.Arrays.copyOfRange(f, f.length - 8, f.length), cut.sequences().get(i));
    }
  }

  @Test
  void rejectsGroupsItCannotTrainOn() {
    GroupEncoder encoder = new GroupEncoder(64);
    ComparisonGroup unknown =
        ComparisonGroup.newBuilder(group)
            .setPairs(
                List.of(new ComparisonPair("nope", group.getResponses().get(0).getResponseId())))
            .build();
    assertTrue(
        assertThrows(GroupEncoder.InvalidGroupException.class, () -> encoder.encode(unknown, 0, 0))
            .getMessage()
            .contains("unknown response"));
    ComparisonGroup noPairs = ComparisonGroup.newBuilder(group).setPairs(List.of()).build();
    assertThrows(GroupEncoder.InvalidGroupException.class, () -> encoder.encode(noPairs, 0, 0));
    ComparisonGroup single =
        ComparisonGroup.newBuilder(group)
            .setResponses(group.getResponses().subList(0, 1))
            .setPairs(List.of())
            .build();
    assertThrows(GroupEncoder.InvalidGroupException.class, () -> encoder.encode(single, 0, 0));
    String id = group.getResponses().get(0).getResponseId();
    ComparisonGroup self =
        ComparisonGroup.newBuilder(group).setPairs(List.of(new ComparisonPair(id, id))).build();
    assertThrows(GroupEncoder.InvalidGroupException.class, () -> encoder.encode(self, 0, 0));
  }
}
