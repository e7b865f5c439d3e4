// mongo-java-server's in-memory backend, with cheaper matching and sorting on top-level fields.
//
// Profiled under `make bench` (JFR), most of the store's CPU went to the newest-first log and
// job listings, which scan their collection (this server keeps no secondary index): the stock
// matcher and sort comparator split every field path with a regular expression on every
// document and every comparison. For a query whose conditions are all equalities of top-level
// fields to strings, and a sort on top-level fields, this collection reads the fields directly;
// anything else (dotted paths, operators, non-string values, projections) takes the stock path,
// and so does any document whose field is not a plain string. Results are the same.
//
// It also makes adding and dropping an index exclusive with the collection's writes: the stock
// collection iterates its index list on every insert without a lock against `createIndexes`,
// which threw ConcurrentModificationException when a client created indexes while another
// inserted into the same collection.
//
// It does not track the collections' data size (collStats' `size` stays 0), which cost a BSON
// encoding of every written document.
//
// And it can be frozen for a consistent snapshot before a graceful stop: the command
// `{localFreeze: 1}` waits for the writes under way, then refuses every later write with
// ShutdownInProgress (91), an error clients retry. Without it, writes acknowledged between the
// snapshot and the stop were lost (attempt logs missing after `make chaos` restarted the store).

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

public final class FastPathBackend extends MemoryBackend {
  private static final Set<String> WRITES = Set.of("insert", "update", "delete", "findandmodify",
      "createindexes", "dropindexes", "create", "drop", "dropdatabase", "renamecollection");
  private static final int SHUTDOWN_IN_PROGRESS = 91;

  private final ReentrantReadWriteLock writes = new ReentrantReadWriteLock();
  private volatile boolean frozen;

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    String name = command.toLowerCase(Locale.ROOT);
    if (name.equals("localfreeze")) {
      writes.writeLock().lock();  // waits for the writes under way
      try {
        frozen = true;
      } finally {
        writes.writeLock().unlock();
      }
      return new Document("frozen", Boolean.TRUE).append("ok", 1.0);
    }
    if (!WRITES.contains(name)) {
      return super.handleCommand(channel, databaseName, command, query);
    }
    writes.readLock().lock();
    try {
      if (frozen) {
        throw new MongoServerError(SHUTDOWN_IN_PROGRESS, "ShutdownInProgress",
            "the store is stopping; retry once it is back");
      }
      return super.handleCommand(channel, databaseName, command, query);
    } finally {
      writes.readLock().unlock();
    }
  }

  @Override
  public MemoryDatabase openOrCreateDatabase(String databaseName) {
    return new Database(databaseName, getCursorRegistry());
  }

  static final class Database extends MemoryDatabase {
    Database(String databaseName, CursorRegistry cursorRegistry) {
      super(databaseName, cursorRegistry);
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
      return new Collection(this, collectionName, options, cursorRegistry);
    }
  }

  static final class Collection extends MemoryCollection {
    Collection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors) {
      super(database, name, options, cursors);
    }

    /**
     * No running data size: the stock collection re-encodes every document it inserts, updates
     * or deletes to measure it (JFR under `make bench-logs`: 30 % of the store's CPU), only for
     * collStats' `size`, which nothing of ours reads.
     */
    @Override
    protected boolean tracksDataSize() {
      return false;
    }

    @Override
    public synchronized void addIndex(Index<Integer> index) {
      super.addIndex(index);
    }

    @Override
    public synchronized void dropIndex(String indexName) {
      super.dropIndex(indexName);
    }

    @Override
    protected QueryResult matchDocumentsFromStream(Stream<Document> documents, Document query,
        Document orderBy, int numberToSkip, int limit, int batchSize, Document fieldSelector) {
      boolean projected = fieldSelector != null && !fieldSelector.keySet().isEmpty();
      boolean natural = orderBy == null || orderBy.keySet().isEmpty()
          || orderBy.keySet().iterator().next().equals("$natural");
      Comparator<Document> order = natural ? null : topLevelOrder(orderBy);
      if (projected || !isTopLevelStringEquality(query) || (!natural && order == null)) {
        return super.matchDocumentsFromStream(documents, query, orderBy, numberToSkip, limit,
            batchSize, fieldSelector);
      }
      Stream<Document> page = documents.filter(matcher(query));
      if (order != null) {
        page = page.sorted(order);
      }
      if (numberToSkip > 0) {
        page = page.skip(numberToSkip);
      }
      if (limit > 0) {
        page = page.limit(limit);
      }
      return createQueryResult(page.collect(Collectors.toList()), batchSize);
    }

    private static boolean isTopLevel(String key) {
      return !key.isEmpty() && key.indexOf('.') < 0 && key.charAt(0) != '$';
    }

    private static boolean isTopLevelStringEquality(Document query) {
      for (Map.Entry<String, Object> condition : query.entrySet()) {
        if (!isTopLevel(condition.getKey()) || !(condition.getValue() instanceof String)) {
          return false;
        }
      }
      return true;
    }

    /** Field equality read directly; a field that is not a string goes to the stock matcher. */
    private Predicate<Document> matcher(Document query) {
      List<Map.Entry<String, Object>> conditions = List.copyOf(query.entrySet());
      return document -> {
        for (Map.Entry<String, Object> condition : conditions) {
          Object value = document.get(condition.getKey());
          if (!(value instanceof String)) {
            return documentMatchesQuery(document, query);
          }
          if (!value.equals(condition.getValue())) {
            return false;
          }
        }
        return true;
      };
    }

    /** The stock order (missing fields included) on top-level keys; null for any other key. */
    private static Comparator<Document> topLevelOrder(Document orderBy) {
      String[] keys = orderBy.keySet().toArray(new String[0]);
      ValueComparator[] directions = new ValueComparator[keys.length];
      for (int i = 0; i < keys.length; i++) {
        if (!isTopLevel(keys[i]) || !(orderBy.get(keys[i]) instanceof Number direction)) {
          return null;
        }
        directions[i] = direction.intValue() > 0 ? ValueComparator.asc() : ValueComparator.desc();
      }
      return (a, b) -> {
        for (int i = 0; i < keys.length; i++) {
          int cmp = directions[i].compare(a.getOrMissing(keys[i]), b.getOrMissing(keys[i]));
          if (cmp != 0) {
            return cmp;
          }
        }
        return 0;
      };
    }
  }
}
