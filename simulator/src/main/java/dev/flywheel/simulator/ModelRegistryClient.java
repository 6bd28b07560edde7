package dev.flywheel.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** Client of the model registry's {@code GET /api/versions/policy} (see its README). */
public final class ModelRegistryClient {

  /**
   * One policy version as the registry lists it.
   *
   * @param version the version number
   * @param stage {@code SFT} or {@code PPO}
   * @param status {@code CANDIDATE}, {@code LIVE}, ...
   * @param parentVersions what it was trained from (PPO: the policy it continued and the SFT
   *     reference)
   */
  public record PolicyVersionInfo(
      long version, String stage, String status, List<Long> parentVersions) {
    public boolean sft() {
      return "SFT".equalsIgnoreCase(stage);
    }
  }

  private final URI policyVersions;
  private final String apiKey;
  private final HttpJson http;

  ModelRegistryClient(URI baseUrl, String apiKey, HttpJson http) {
    this.policyVersions = Endpoints.resolve(baseUrl, "api/versions/policy");
    this.apiKey = apiKey;
    this.http = http;
  }

  /** Every policy version the registry knows, ascending. */
  public List<PolicyVersionInfo> policyVersions() throws IOException, InterruptedException {
    return parse(http.get(policyVersions, apiKey).body());
  }

  static List<PolicyVersionInfo> parse(JsonNode body) {
    List<PolicyVersionInfo> out = new ArrayList<>();
    for (JsonNode v : body.path("versions")) {
      List<Long> parents = new ArrayList<>();
      for (JsonNode p : v.path("parentVersions")) {
        parents.add(p.asLong());
      }
      out.add(
          new PolicyVersionInfo(
              v.path("version").asLong(),
              v.path("stage").asText(""),
              v.path("status").asText(""),
              List.copyOf(parents)));
    }
    out.sort((a, b) -> Long.compare(a.version(), b.version()));
    return List.copyOf(out);
  }
}
