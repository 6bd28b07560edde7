package dev.flywheel.kit.auth;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a controller (or one of its methods) as requiring a bearer API key. {@link ApiKeyFilter}
 * answers 401 without a known key and 403 when the key's app lacks {@link #scope()}. A method's
 * annotation overrides its class's.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
public @interface RequiresApiKey {

  /**
   * The scope the app must hold, e.g. {@code rankings:write}; empty means any authenticated app.
   */
  String scope() default "";
}
