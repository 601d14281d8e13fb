import { useCallback, useEffect, useState } from 'preact/hooks';
import type { TypedDocumentString } from '../gql/graphql.ts';
import { request } from '../api/client.ts';

export interface QueryState<R> {
  data: R | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Runs a query when its variables change; `reload` refetches (after a mutation). */
export function useQuery<R, V>(doc: TypedDocumentString<R, V>, variables: V, skip = false): QueryState<R> {
  const [data, setData] = useState<R>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(!skip);
  const key = JSON.stringify(variables);
  const reload = useCallback(async () => {
    if (skip) return;
    setLoading(true);
    try {
      setData(await request(doc, variables));
      setError(undefined);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [doc, key, skip]);
  useEffect(() => void reload(), [reload]);
  return { data, error, loading, reload };
}
