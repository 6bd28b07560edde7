package dev.flywheel.helm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import org.junit.jupiter.api.Test;

/** NOTES.txt renders (client-only dry-run install) and warns about the risky settings. */
class NotesTest {

  static String notes(String... sets) {
    InstallCommand install =
        new Helm(Chart.DIR)
            .install()
            .withName(Chart.RELEASE)
            .withNamespace(Chart.NAMESPACE)
            .dryRun()
            .clientOnly();
    for (String set : sets) {
      int eq = set.indexOf('=');
      install = install.set(set.substring(0, eq), set.substring(eq + 1));
    }
    String output = install.call().getOutput();
    int at = output.indexOf("NOTES:");
    assertTrue(at >= 0, output);
    return output.substring(at);
  }

  @Test
  void listsComponentsAndWarnsWithoutApiKeys() {
    String notes = notes();
    assertTrue(notes.contains("svc/fw-flywheel-feedback-gateway"), notes);
    assertTrue(
        notes.contains("policy-trainer") && notes.contains("(single instance, Recreate)"), notes);
    assertTrue(
        notes.contains("svc/fw-flywheel-pair-assembler-management 8083:8081"),
        "its health on the management port");
    assertTrue(notes.contains("WARNING: feedbackGateway.auth has no apps"), notes);
    assertTrue(notes.contains("WARNING: serving.auth has no apps"), notes);
    assertFalse(notes.contains("SASL_PLAINTEXT"), notes);
  }

  @Test
  void warnsAboutUnencryptedSaslNoPersistenceAndIdleAssemblers() {
    String notes =
        notes(
            "kafka.securityProtocol=SASL_PLAINTEXT",
            "kafka.sasl.existingSecret=user",
            "artifacts.persistence.enabled=false",
            "pairAssembler.replicas=8",
            "feedbackGateway.auth.existingSecret=keys",
            "serving.auth.existingSecret=keys");
    assertTrue(notes.contains("WARNING: kafka.securityProtocol is SASL_PLAINTEXT"), notes);
    assertTrue(notes.contains("WARNING: artifacts.persistence.enabled=false"), notes);
    assertTrue(notes.contains("replicas beyond the partition count stay idle"), notes);
    assertFalse(notes.contains("auth has no apps"), notes);
  }
}
