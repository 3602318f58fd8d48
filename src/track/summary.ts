// A run's summary: the last logged value of each metric, unless the user set the key (run.summary.x
// = v), which then wins over later logs; deleting a set key reverts to the logged value.

export class Summary {
  /** what run.summary is: reads see merged values, writes and deletes are the user's */
  readonly proxy: Record<string, unknown>;
  /** changed since the last save */
  dirty = true;
  private readonly values: Record<string, unknown> = {};
  private readonly explicit = new Set<string>();
  private readonly logged = new Map<string, number>();

  constructor() {
    this.proxy = new Proxy(this.values, {
      set: (t, k, v) => {
        if (typeof k !== 'string') return false;
        t[k] = v;
        this.explicit.add(k);
        this.dirty = true;
        return true;
      },
      deleteProperty: (t, k) => {
        if (typeof k !== 'string') return false;
        this.explicit.delete(k);
        if (this.logged.has(k)) t[k] = this.logged.get(k);
        else delete t[k];
        this.dirty = true;
        return true;
      },
      defineProperty: () => false,
    });
  }

  /** A logged value. */
  record(key: string, value: number): void {
    this.logged.set(key, value);
    if (!this.explicit.has(key)) this.values[key] = value;
    this.dirty = true;
  }
}
