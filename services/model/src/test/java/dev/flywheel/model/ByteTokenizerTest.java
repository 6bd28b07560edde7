package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ByteTokenizerTest {

  final ByteTokenizer tokenizer = ByteTokenizer.INSTANCE;
  final ChatTemplate template = new ChatTemplate();

  @Test
  void roundTripsAnyText() {
    for (String text : List.of("", "hello", "naïve café – 東京 🚀", "tab\tnew\nline\u0000nul")) {
      int[] ids = tokenizer.encode(text);
      assertEquals(text.getBytes(StandardCharsets.UTF_8).length, ids.length);
      assertEquals(text, tokenizer.decode(ids));
    }
    assertArrayEquals(new int[] {104, 105}, tokenizer.encode("hi"));
  }

  @Test
  void decodeSkipsSpecialsAndSurvivesBrokenUtf8() {
    int[] rocket = tokenizer.encode("🚀"); // 4 bytes
    int[] ids = {
      ByteTokenizer.BOS, 'o', 'k', ByteTokenizer.EOS, ByteTokenizer.PAD, rocket[0], rocket[1]
    };
    assertEquals("ok\uFFFD", tokenizer.decode(ids));
    assertEquals("\uFFFDx", tokenizer.decode(new int[] {0xFF, 'x'}));
    assertThrows(
        IllegalArgumentException.class,
        () -> tokenizer.decode(new int[] {ByteTokenizer.VOCAB_SIZE}));
    assertEquals(
        "<|BOS|>ok<|EOS|>",
        tokenizer.render(new int[] {ByteTokenizer.BOS, 'o', 'k', ByteTokenizer.EOS}));
  }

  @Test
  void streamDecoderHoldsBackIncompleteCharacters() {
    ByteTokenizer.StreamDecoder decoder = new ByteTokenizer.StreamDecoder();
    StringBuilder out = new StringBuilder();
    int[] ids = tokenizer.encode("a東🚀b");
    for (int i = 0; i < ids.length; i++) {
      String piece = decoder.push(ids[i]);
      if (i == 1 || i == 2 || (i >= 4 && i <= 6)) {
        assertEquals("", piece, "byte " + i + " completes no character");
      }
      out.append(piece);
    }
    out.append(decoder.push(ByteTokenizer.EOS)).append(decoder.finish());
    assertEquals("a東🚀b", out.toString());
    decoder.push(0xE6);
    assertEquals("\uFFFD", decoder.finish());
  }

  @Test
  void jsonLayoutRoundTripsAndRejectsOthers() {
    assertEquals(tokenizer, ByteTokenizer.fromJson(tokenizer.toJson()));
    String other = tokenizer.toJson().replace("\"EOS\":258", "\"EOS\":300");
    assertThrows(IllegalArgumentException.class, () -> ByteTokenizer.fromJson(other));
    assertThrows(
        IllegalArgumentException.class, () -> ByteTokenizer.fromJson("{\"type\":\"bpe\"}"));
  }

  @Test
  void chatTemplateEncodesAndDecodesConversations() {
    List<ChatTurn> conversation =
        List.of(ChatTurn.system("be brief"), ChatTurn.user("2+2?"), ChatTurn.assistant("4"));
    int[] tokens = template.encode(conversation);
    int[] expected = {
      ByteTokenizer.BOS,
      ByteTokenizer.SYSTEM,
      'b',
      'e',
      ' ',
      'b',
      'r',
      'i',
      'e',
      'f',
      ByteTokenizer.EOS,
      ByteTokenizer.USER,
      '2',
      '+',
      '2',
      '?',
      ByteTokenizer.EOS,
      ByteTokenizer.ASSISTANT,
      '4',
      ByteTokenizer.EOS
    };
    assertArrayEquals(expected, tokens);
    assertEquals(conversation, template.decode(tokens));

    int[] prompt = template.encodeForGeneration(conversation.subList(0, 2));
    assertEquals(ByteTokenizer.ASSISTANT, prompt[prompt.length - 1]);
    assertEquals(
        conversation.subList(0, 2),
        template.decode(prompt),
        "a bare generation prompt adds no turn");

    // a generated reply without EOS (cut at the length limit) still parses
    int[] cut = java.util.Arrays.copyOf(prompt, prompt.length + 2);
    cut[prompt.length] = 'h';
    cut[prompt.length + 1] = 'i';
    assertEquals(ChatTurn.assistant("hi"), template.decode(cut).get(2));
  }

  @Test
  void sftExampleMasksOnlyTheResponseAndItsEos() {
    List<ChatTurn> conversation = List.of(ChatTurn.user("hi"), ChatTurn.assistant("yo"));
    SftExample example = template.sftExample(conversation);
    assertArrayEquals(
        template.encodeForGeneration(conversation.subList(0, 1)), example.promptTokens());
    assertArrayEquals(new int[] {'y', 'o', ByteTokenizer.EOS}, example.responseTokens());
    assertArrayEquals(template.encode(conversation), example.tokens());
    assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 1, 1, 1}, example.lossMask());
    assertThrows(
        IllegalArgumentException.class, () -> template.sftExample(conversation.subList(0, 1)));

    SftExample fitted = example.fitTo(5);
    assertArrayEquals(
        new int[] {ByteTokenizer.EOS, ByteTokenizer.ASSISTANT}, fitted.promptTokens());
    assertArrayEquals(example.responseTokens(), fitted.responseTokens());
    assertEquals(
        2, example.fitTo(2).promptTokens().length + example.fitTo(2).responseTokens().length);
  }
}
