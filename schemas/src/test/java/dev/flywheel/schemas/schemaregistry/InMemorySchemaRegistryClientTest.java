package dev.flywheel.schemas.schemaregistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * The in-memory registry's own id and subject rules (what {@link SchemaRegistryClientContract}
 * cannot assert on a shared real registry: absolute ids, separate instances, concurrency).
 */
class InMemorySchemaRegistryClientTest {

  private static Schema record(String name, String fields) {
    return new Schema.Parser()
        .parse(
            "{\"type\":\"record\",\"name\":\""
                + name
                + "\",\"namespace\":\"t\",\"fields\":["
                + fields
                + "]}");
  }

  private static final Schema A = record("A", "{\"name\":\"a\",\"type\":\"string\"}");
  private static final Schema B = record("B", "{\"name\":\"b\",\"type\":\"string\"}");
  private static final Schema C = record("C", "{\"name\":\"c\",\"type\":\"string\"}");

  @Test
  void idsCountFromOneOnePerDistinctSchema() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    assertEquals(1, registry.register("a-value", A));
    assertEquals(1, registry.register("a-value", A), "the same schema again: the same id");
    assertEquals(2, registry.register("b-value", B));
    assertEquals(1, registry.register("b2-value", A), "A under a second subject keeps id 1");
    assertEquals(3, registry.register("c-value", C), "reusing an id consumed no new one");
    assertEquals(List.of(1), registry.versions("a-value"));
    assertEquals(List.of(1), registry.versions("b2-value"));
    assertEquals(A, registry.schemaById(1));
    assertEquals(B, registry.schemaById(2));
  }

  @Test
  void aSchemaIsIdentifiedByItsTextNotByTheObject() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    int id = registry.register("a-value", A);
    Schema sameText = new Schema.Parser().parse(A.toString());
    assertEquals(id, registry.register("a-value", sameText));
    Schema read = registry.schemaById(id);
    assertEquals(A, read);
    assertNotSame(A, read, "readers get their own parsed copy, as from a real registry");
  }

  @Test
  void eachInstanceIsARegistryOfItsOwn() {
    InMemorySchemaRegistryClient one = new InMemorySchemaRegistryClient();
    InMemorySchemaRegistryClient two = new InMemorySchemaRegistryClient();
    assertEquals(1, one.register("a-value", A));
    assertEquals(1, two.register("b-value", B));
    assertEquals(B, two.schemaById(1));
    assertEquals(A, one.schemaById(1));
    assertTrue(two.lookup("a-value", A).isEmpty());
    assertTrue(!one.baseUrl().equals(two.baseUrl()), one.baseUrl() + " vs " + two.baseUrl());
    assertTrue(one.baseUrl().startsWith("in-memory:"), one.baseUrl());
  }

  @Test
  void anIncompatibleSchemaIsRefusedNamingTheRuleAndTheField() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    registry.register("a-value", A);
    Schema noDefault =
        record("A", "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"extra\",\"type\":\"int\"}");
    IncompatibleSchemaException e =
        assertThrows(
            IncompatibleSchemaException.class, () -> registry.register("a-value", noDefault));
    assertEquals(409, e.httpStatus());
    assertEquals(409, e.errorCode());
    assertTrue(e.getMessage().contains("BACKWARD"), e.getMessage());
    assertTrue(e.getMessage().contains("extra"), e.getMessage());
    assertEquals(2, registry.register("b-value", B), "a refused schema took no id");
    SchemaRegistryClient.CompatibilityResult verdict =
        registry.testCompatibility("a-value", noDefault);
    assertTrue(
        verdict.messages().stream().anyMatch(m -> m.contains("READER_FIELD_MISSING_DEFAULT_VALUE")),
        verdict.toString());
  }

  @Test
  void concurrentRegistrationsOfOneSchemaGiveOneIdAndOneVersion() throws Exception {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Integer>> calls = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        Schema copy = new Schema.Parser().parse((i % 2 == 0 ? A : B).toString());
        String subject = i % 2 == 0 ? "a-value" : "b-value";
        calls.add(() -> registry.register(subject, copy));
      }
      Set<Integer> ids = new HashSet<>();
      for (Future<Integer> f : pool.invokeAll(calls)) {
        ids.add(f.get());
      }
      assertEquals(Set.of(1, 2), ids);
      assertEquals(List.of(1), registry.versions("a-value"));
      assertEquals(List.of(1), registry.versions("b-value"));
    } finally {
      pool.shutdownNow();
    }
  }
}
