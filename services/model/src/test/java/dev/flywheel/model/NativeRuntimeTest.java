package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Where PyTorch's native library comes from: the CPU jar, or PYTORCH_LIBRARY_PATH (-Dcuda). */
class NativeRuntimeTest {

  @Test
  void theDefaultBuildCarriesTheCpuNative() {
    assertNotNull(
        NativeRuntime.class.getClassLoader().getResource(NativeRuntime.CPU_NATIVE_MARKER),
        "pytorch-native-cpu is on the test class path (the cpu-native profile is active)");
  }

  @Test
  void aBuildWithoutANativeNeedsPytorchLibraryPathAndSaysSo() {
    assertNull(NativeRuntime.missingNative(true, null));
    assertNull(NativeRuntime.missingNative(false, "/opt/libtorch/lib"));
    String why = NativeRuntime.missingNative(false, null);
    assertTrue(why.contains("PYTORCH_LIBRARY_PATH") && why.contains("-Dcuda"), why);
    assertNotNull(NativeRuntime.missingNative(false, " "));
  }
}
