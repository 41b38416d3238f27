with

source as (

    select * from {{ source('platform', 'courses') }}
    where {{ as_of_filter() }}

),

typed as (

    select
        {{ clean_text('course_id') }} as course_id,
        {{ clean_text('title') }} as title,
        {{ lower_snake('category') }} as category,
        {{ tag_list('tags') }} as tags,
        {{ to_money('price') }} as price,
        {{ clean_text('instructor') }} as instructor,
        {{ to_local_ts('published_at') }} as published_at,
        coalesce({{ to_bool('is_active') }}, false) as is_active,
        {{ to_local_ts('updated_at') }} as updated_at,
        _delivery_date,
        _source_file,
        _source_line
    from source

),

final as (

    {% call latest_per(['course_id']) %}
    select * from typed
    where course_id is not null
    {% endcall %}

)

select * from final
