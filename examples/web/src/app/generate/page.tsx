'use client';

import Link from 'next/link';
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { CreditMeter } from '@/components/CreditMeter';
import { GenerationCard } from '@/components/GenerationCard';
import { RequireViewer, useViewer } from '@/components/Viewer';
import { CreateGenerationMutation, GenerationOptionsQuery, GenerationQuery } from '@/lib/documents';

const POLL_MS = 1000;

export default function GeneratePage() {
  return (
    <RequireViewer>
      <Generate />
    </RequireViewer>
  );
}

function Generate() {
  const { refresh } = useViewer();
  const [{ data: options }] = useQuery({ query: GenerationOptionsQuery });
  const [creation, create] = useMutation(CreateGenerationMutation);
  const [generationId, setGenerationId] = useState<string | null>(null);
  const [problem, setProblem] = useState<{ text: string; shortfall?: boolean } | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => (form.get(name) as string | null) || undefined;
    setProblem(null);
    const result = await create({
      input: {
        prompt: field('prompt') ?? '',
        model: field('model'),
        aspectRatio: field('aspectRatio'),
        style: field('style'),
        count: Number(field('count') ?? 1),
        idempotencyKey: crypto.randomUUID(),
      },
    });
    const answer = result.data?.createImageGeneration;
    if (answer?.__typename === 'ImageGeneration') setGenerationId(answer.id);
    else if (answer?.__typename === 'InsufficientCreditsError') {
      setProblem({ text: `Not enough credits: this needs ${answer.required}, you have ${answer.available}.`, shortfall: true });
    } else if (answer?.__typename === 'RateLimitedError') {
      setProblem({ text: `Too many requests; try again in ${answer.retryAfterSeconds} s.` });
    } else setProblem({ text: answer && 'message' in answer ? answer.message : (result.error?.message ?? 'Something went wrong') });
    refresh();
  }

  const choices = options?.imageGenerationOptions;
  return (
    <>
      <h1>Generate an image</h1>
      <CreditMeter />
      <form className="panel" onSubmit={submit}>
        <label>
          <span>Prompt</span>
          <textarea name="prompt" required rows={3} maxLength={2000} />
        </label>
        <div className="row">
          <label>
            <span>Model</span>
            <select name="model">{choices?.models.map((model) => <option key={model}>{model}</option>)}</select>
          </label>
          <label>
            <span>Aspect ratio</span>
            <select name="aspectRatio">{choices?.aspectRatios.map((ratio) => <option key={ratio}>{ratio}</option>)}</select>
          </label>
          {choices && choices.styles.length > 0 && (
            <label>
              <span>Style</span>
              <select name="style">
                <option value="">none</option>
                {choices.styles.map((style) => (
                  <option key={style}>{style}</option>
                ))}
              </select>
            </label>
          )}
          <label>
            <span>Images</span>
            <input name="count" type="number" min={1} max={choices?.maxCount ?? 1} defaultValue={1} />
          </label>
        </div>
        <p className="muted">{choices ? `${choices.creditsPerImage} credits per image` : ''}</p>
        <button type="submit" disabled={!choices || creation.fetching}>
          Generate
        </button>
      </form>
      {problem && (
        <p className="error" role="alert">
          {problem.text} {problem.shortfall && <Link href="/pricing">Get more credits</Link>}
        </p>
      )}
      {generationId && <LiveGeneration key={generationId} id={generationId} onSettled={refresh} />}
    </>
  );
}

/** Polls the generation until it completes or fails (the API has no subscriptions). */
function LiveGeneration({ id, onSettled }: { id: string; onSettled: () => void }) {
  const [{ data }, reexecute] = useQuery({ query: GenerationQuery, variables: { id }, requestPolicy: 'network-only' });
  const generation = data?.imageGeneration;
  const settled = generation?.status === 'COMPLETED' || generation?.status === 'FAILED';
  useEffect(() => {
    if (settled) {
      onSettled();
      return;
    }
    const timer = setTimeout(() => reexecute({ requestPolicy: 'network-only' }), POLL_MS);
    return () => clearTimeout(timer);
  }, [settled, data, reexecute, onSettled]);
  if (!generation) return <p className="muted">Starting…</p>;
  return (
    <section aria-label="Latest generation" className="gallery">
      <GenerationCard generation={generation} />
    </section>
  );
}
