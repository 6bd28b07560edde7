package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelArtifactsTest {

  static NDManager manager;
  static final List<int[]> PROMPTS =
      List.of(
          new ChatTemplate().encodeForGeneration(List.of(ChatTurn.user("hello"))),
          new int[] {ByteTokenizer.BOS, 'x'});

  @TempDir Path tmp;

  @BeforeAll
  static void setUp() {
    Engine.getInstance().setRandomSeed(5);
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void saveThenLoadGivesIdenticalOutputs() throws IOException {
    try (PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager);
        RewardModel reward = RewardModel.create(GptConfig.tiny(), manager)) {
      Map<String, String> metadata = Map.of("version", "7", "parent", "sha:abc");
      String policySha =
          ModelArtifacts.save(tmp.resolve("policy-v7"), policy, ByteTokenizer.INSTANCE, metadata);
      String rewardSha =
          ModelArtifacts.save(tmp.resolve("rm-v1"), reward, ByteTokenizer.INSTANCE, Map.of());
      assertEquals(64, policySha.length());
      assertEquals(
          Files.readString(tmp.resolve("policy-v7/config.json")), GptConfig.tiny().toJson());
      assertEquals(
          List.of("config.json", "manifest.json", "parameters.bin", "tokenizer.json"),
          fileNames(tmp.resolve("policy-v7")));

      SamplingConfig sampling = new SamplingConfig(0.9f, 1f, 0, 12, false, 42, true);
      try (LoadedModel loaded = ModelArtifacts.load(tmp.resolve("policy-v7"), policySha, manager)) {
        assertEquals(ModelKind.POLICY, loaded.kind());
        assertEquals(GptConfig.tiny(), loaded.config());
        assertEquals(metadata, loaded.metadata());
        assertEquals(policySha, loaded.sha256());
        List<Generation> expected = new Sampler(policy).generate(PROMPTS, sampling);
        List<Generation> actual = new Sampler(loaded.policy()).generate(PROMPTS, sampling);
        assertEquals(expected, actual, "bit-identical tokens and log-probs");
        assertThrows(IllegalStateException.class, loaded::reward);
      }
      try (LoadedModel loaded = ModelArtifacts.load(tmp.resolve("rm-v1"), rewardSha, manager)) {
        assertArrayEquals(reward.score(PROMPTS), loaded.reward().score(PROMPTS));
      }
      // the same weights saved again give the same artifact SHA-256
      assertEquals(
          policySha,
          ModelArtifacts.save(tmp.resolve("again"), policy, ByteTokenizer.INSTANCE, metadata));
      assertThrows(
          FileAlreadyExistsException.class,
          () ->
              ModelArtifacts.save(tmp.resolve("again"), policy, ByteTokenizer.INSTANCE, metadata));
    }
  }

  @Test
  void refusesAFileWithOneFlippedByte() throws IOException {
    String sha;
    try (PolicyModel policy = PolicyModel.create(GptConfig.tiny(), manager)) {
      sha = ModelArtifacts.save(tmp.resolve("a"), policy, ByteTokenizer.INSTANCE, Map.of());
    }
    Path parameters = tmp.resolve("a").resolve(ModelArtifacts.PARAMETERS);
    byte[] bytes = Files.readAllBytes(parameters);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(parameters, bytes);
    for (String expected : new String[] {sha, null}) {
      ArtifactIntegrityException e =
          assertThrows(
              ArtifactIntegrityException.class,
              () -> ModelArtifacts.load(tmp.resolve("a"), expected, manager));
      assertEquals("parameters.bin", e.file());
      assertNotEquals(e.expectedSha256(), e.actualSha256());
      assertTrue(e.getMessage().contains("parameters.bin"), e.getMessage());
    }
  }

  @Test
  void refusesAManifestThatIsNotTheExpectedOneAndStrayFiles() throws IOException {
    String sha;
    try (ValueModel value = ValueModel.create(GptConfig.tiny(), manager)) {
      sha = ModelArtifacts.save(tmp.resolve("v"), value, ByteTokenizer.INSTANCE, Map.of("k", "v"));
    }
    Path manifest = tmp.resolve("v").resolve(ModelArtifacts.MANIFEST);
    String original = Files.readString(manifest);
    // an edited manifest (here: metadata) no longer matches the artifact SHA-256 from the event
    Files.writeString(manifest, original.replace("\"v\"", "\"w\""));
    ArtifactIntegrityException e =
        assertThrows(
            ArtifactIntegrityException.class,
            () -> ModelArtifacts.load(tmp.resolve("v"), sha, manager));
    assertEquals("manifest.json", e.file());
    Files.writeString(manifest, original);
    ModelArtifacts.verify(tmp.resolve("v"), sha);

    Files.writeString(tmp.resolve("v").resolve("extra.bin"), "?");
    e =
        assertThrows(
            ArtifactIntegrityException.class, () -> ModelArtifacts.verify(tmp.resolve("v"), sha));
    assertEquals("extra.bin", e.file());
    Files.delete(tmp.resolve("v").resolve("extra.bin"));

    Files.delete(tmp.resolve("v").resolve(ModelArtifacts.TOKENIZER));
    e =
        assertThrows(
            ArtifactIntegrityException.class, () -> ModelArtifacts.verify(tmp.resolve("v"), sha));
    assertEquals("tokenizer.json", e.file());
  }

  @Test
  void localStorePutsResolvesAndNeverOverwrites() throws IOException {
    String sha;
    Path saved = tmp.resolve("out").resolve("rm");
    try (RewardModel reward = RewardModel.create(GptConfig.tiny(), manager)) {
      sha = ModelArtifacts.save(saved, reward, ByteTokenizer.INSTANCE, Map.of());
    }
    LocalArtifactStore store = new LocalArtifactStore(tmp.resolve("store"));
    URI uri = store.put("reward/v1", saved);
    assertEquals("file", uri.getScheme());
    assertTrue(store.exists(uri));
    assertFalse(store.exists(store.root().resolve("reward/v2").toUri()));
    try (LoadedModel loaded = ModelArtifacts.load(store.resolve(uri), sha, manager)) {
      assertEquals(ModelKind.REWARD, loaded.kind());
    }
    assertThrows(FileAlreadyExistsException.class, () -> store.put("reward/v1", saved));
    assertThrows(IllegalArgumentException.class, () -> store.put("../escape", saved));
    assertThrows(
        IllegalArgumentException.class, () -> store.resolve(tmp.resolve("elsewhere").toUri()));
    assertThrows(
        IllegalArgumentException.class, () -> store.resolve(URI.create("http://host/reward/v1")));
    assertThrows(
        NoSuchFileException.class, () -> store.resolve(store.root().resolve("reward/v9").toUri()));
  }

  @Test
  void valueModelStartsFromTheRewardModelsTrunk() {
    try (RewardModel reward = RewardModel.create(GptConfig.tiny(), manager);
        ValueModel value = ValueModel.create(GptConfig.tiny().withDropout(0.1f), manager);
        InferenceSession s = InferenceSession.open(reward)) {
      TokenBatch batch = TokenBatch.of(s.manager(), PROMPTS, TokenBatch.Side.LEFT);
      float[] before =
          value.trunk().forward(batch.tokens(), batch.mask(), null, false).toFloatArray();
      value.copyTrunkFrom(reward);
      float[] rewardHidden =
          reward.trunk().forward(batch.tokens(), batch.mask(), null, false).toFloatArray();
      float[] valueHidden =
          value.trunk().forward(batch.tokens(), batch.mask(), null, false).toFloatArray();
      assertArrayEquals(rewardHidden, valueHidden);
      assertFalse(java.util.Arrays.equals(before, valueHidden));
      // a copy, not a shared array: changing the source leaves the copy alone
      reward.trunk().tokenEmbedding().muli(2);
      assertArrayEquals(
          valueHidden,
          value.trunk().forward(batch.tokens(), batch.mask(), null, false).toFloatArray());
      assertTrue(value.trunk().getParameters().valueAt(0).requiresGradient());
    }
    try (RewardModel other = RewardModel.create(GptConfig.small(), manager);
        ValueModel value = ValueModel.create(GptConfig.tiny(), manager)) {
      assertThrows(IllegalArgumentException.class, () -> value.copyTrunkFrom(other));
    }
  }

  static List<String> fileNames(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
