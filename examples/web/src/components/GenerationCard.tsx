import type { GenerationFieldsFragment } from '@/gql/graphql';

export function GenerationCard({ generation }: { generation: GenerationFieldsFragment }) {
  return (
    <figure data-testid="generation">
      {generation.outputs.map((image) => (
        // eslint-disable-next-line @next/next/no-img-element
        <img key={image.id} src={image.url} width={image.width} height={image.height} alt={generation.prompt} />
      ))}
      <figcaption>
        <span className="status" data-testid="generation-status">
          {generation.status.toLowerCase()}
        </span>{' '}
        · {generation.prompt} · {generation.credits} credits
        {generation.errorMessage && <span className="error"> · {generation.errorMessage}</span>}
      </figcaption>
    </figure>
  );
}
