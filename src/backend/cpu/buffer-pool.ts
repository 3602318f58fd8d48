// Freed ArrayBuffers kept for reuse, by byte length. A fresh large typed array costs page faults
// and zeroing, often more than the kernel that fills it (a 2 MB bfloat16 activation: ~0.4 ms to
// allocate, 0.15 ms to compute), and a training step frees and allocates the same sizes every time.
// Bounded: past `maxBytes` the oldest buffers are dropped (back to the garbage collector).

export class BufferPool {
  private readonly bySize = new Map<number, ArrayBuffer[]>();
  /** every pooled buffer, oldest first (for eviction) */
  private readonly order: ArrayBuffer[] = [];
  private held = 0;

  constructor(
    /** smaller buffers are not worth pooling (allocating them is cheap) */
    readonly minBytes: number,
    readonly maxBytes: number,
  ) {}

  /** Bytes held for reuse. */
  get bytes(): number {
    return this.held;
  }

  /** Keeps `buf` for a later take() of its size (nothing else may use it any more). */
  put(buf: ArrayBuffer): void {
    const n = buf.byteLength;
    if (n < this.minBytes || n > this.maxBytes) return;
    while (this.held + n > this.maxBytes) this.evictOldest();
    const list = this.bySize.get(n);
    if (list) list.push(buf);
    else this.bySize.set(n, [buf]);
    this.order.push(buf);
    this.held += n;
  }

  /** A pooled buffer of exactly `bytes` bytes (contents undefined), or undefined. */
  take(bytes: number): ArrayBuffer | undefined {
    if (bytes < this.minBytes) return undefined;
    const buf = this.bySize.get(bytes)?.pop();
    if (!buf) return undefined;
    this.order.splice(this.order.lastIndexOf(buf), 1);
    this.held -= bytes;
    return buf;
  }

  clear(): void {
    this.bySize.clear();
    this.order.length = 0;
    this.held = 0;
  }

  private evictOldest(): void {
    const buf = this.order.shift()!;
    const list = this.bySize.get(buf.byteLength)!;
    list.splice(list.indexOf(buf), 1);
    if (list.length === 0) this.bySize.delete(buf.byteLength);
    this.held -= buf.byteLength;
  }
}
