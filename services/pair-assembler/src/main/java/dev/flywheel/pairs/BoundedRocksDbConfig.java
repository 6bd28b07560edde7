package dev.flywheel.pairs;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/**
 * Bounds the off-heap memory of all RocksDB stores of the process (Kafka Streams' documented
 * pattern): one LRU cache shared by every store holds block cache, index and filter blocks, and a
 * write buffer manager charges the memtables to the same cache. Budget: {@code
 * flywheel.pair-assembler.rocksdb-memory-mb} (default 128, handed over as the Streams property
 * {@value #MEMORY_MB}), half of it for memtables (less starves writes: constant flushes). Without
 * this each store takes its own 50 MB block cache and up to 3 x 16 MB memtables.
 */
public final class BoundedRocksDbConfig implements RocksDBConfigSetter {

  /** Total off-heap budget in MB for all stores of the process. */
  public static final String MEMORY_MB = "rocksdb.memory.mb";

  private static Cache cache;
  private static WriteBufferManager writeBufferManager;

  private static synchronized void init(Map<String, Object> configs) {
    if (cache == null) {
      Object mb = configs.get(MEMORY_MB);
      long total = (mb == null ? 128L : Long.parseLong(mb.toString())) * 1024 * 1024;
      cache = new LRUCache(total, -1, false, 0.1);
      writeBufferManager = new WriteBufferManager(total / 2, cache);
    }
  }

  @Override
  public void setConfig(String storeName, Options options, Map<String, Object> configs) {
    init(configs);
    BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
    table.setBlockCache(cache);
    table.setCacheIndexAndFilterBlocks(true);
    table.setCacheIndexAndFilterBlocksWithHighPriority(true);
    table.setPinTopLevelIndexAndFilter(true);
    options.setWriteBufferManager(writeBufferManager);
    options.setMaxWriteBufferNumber(2);
    options.setWriteBufferSize(8 * 1024 * 1024L);
    options.setTableFormatConfig(table);
  }

  @Override
  public void close(String storeName, Options options) {
    // the cache and write buffer manager are shared by every store: never closed here
  }
}
