package dev.flywheel.modelregistry.kafka;

import dev.flywheel.schemas.topics.Topics;
import io.micronaut.context.annotation.ConfigurationProperties;
import java.util.List;

/**
 * {@code flywheel.model-registry.topics.*}: the topics the registry reads and writes. The defaults
 * are the catalogue's names; override them only to run several isolated registries on one cluster
 * (tests).
 */
@ConfigurationProperties("flywheel.model-registry.topics")
public class RegistryTopics {

  private String policyVersions = Topics.POLICY_VERSIONS.name();
  private String rewardVersions = Topics.REWARD_VERSIONS.name();
  private String control = Topics.MODEL_CONTROL.name();
  private String metrics = Topics.TRAINING_METRICS.name();

  public String getPolicyVersions() {
    return policyVersions;
  }

  public void setPolicyVersions(String policyVersions) {
    this.policyVersions = policyVersions;
  }

  public String getRewardVersions() {
    return rewardVersions;
  }

  public void setRewardVersions(String rewardVersions) {
    this.rewardVersions = rewardVersions;
  }

  public String getControl() {
    return control;
  }

  public void setControl(String control) {
    this.control = control;
  }

  public String getMetrics() {
    return metrics;
  }

  public void setMetrics(String metrics) {
    this.metrics = metrics;
  }

  public List<String> all() {
    return List.of(policyVersions, rewardVersions, control, metrics);
  }
}
