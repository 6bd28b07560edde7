package dev.flywheel.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * Base for the blocks of this package: parameters are declared with their full shape up front (no
 * shape inference), and forward passes are plain Java methods with the arguments they need (masks,
 * KV caches) instead of DJL's {@code NDList} protocol.
 *
 * <p>Parameters are read with {@link Parameter#getArray()}: a model lives on one device, so DJL's
 * {@link ParameterStore} (multi-device replication) is not used.
 */
abstract class ParameterBlock extends AbstractBlock {

  /** Blocks of this package never change their serialised layout without bumping this. */
  static final byte VERSION = 1;

  ParameterBlock() {
    super(VERSION);
  }

  /** A weight drawn from N(0, std^2). */
  final Parameter weight(String name, Shape shape, double std) {
    return addParameter(
        Parameter.builder()
            .setName(name)
            .setType(Parameter.Type.WEIGHT)
            .optShape(shape)
            .optInitializer(new NormalInitializer((float) std))
            .build());
  }

  /** A bias (or LayerNorm shift) initialised to zeros. */
  final Parameter zeros(String name, Shape shape) {
    return addParameter(
        Parameter.builder()
            .setName(name)
            .setType(Parameter.Type.BIAS)
            .optShape(shape)
            .optInitializer(Initializer.ZEROS)
            .build());
  }

  /** A LayerNorm gain initialised to ones. */
  final Parameter ones(String name, Shape shape) {
    return addParameter(
        Parameter.builder()
            .setName(name)
            .setType(Parameter.Type.GAMMA)
            .optShape(shape)
            .optInitializer(Initializer.ONES)
            .build());
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    for (Block child : getChildren().values()) {
      child.initialize(manager, dataType, inputShapes);
    }
  }

  /** Internal blocks are called through their typed forward methods only. */
  @Override
  protected NDList forwardInternal(
      ParameterStore parameterStore,
      NDList inputs,
      boolean training,
      PairList<String, Object> params) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " is called through its own forward method");
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return inputShapes;
  }

  static NDArray value(Parameter parameter) {
    return parameter.getArray();
  }
}
